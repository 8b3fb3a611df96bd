import { describe, expect, it } from 'vitest';
import { checkTargets, summarise, type SystemResult, takeoverLine } from '../../bench/calls/report.js';
import type { StepResult } from '../../bench/calls/step.js';
import type { TakeoverResult } from '../../bench/calls/takeover.js';

const step = (rate: number, clean: boolean, extra: Partial<StepResult> = {}): StepResult => ({
  rate,
  seconds: 10,
  callee: '127.0.0.1:5080',
  attempted: rate * 10,
  succeeded: clean ? rate * 10 : rate * 10 - 3,
  failed: clean ? 0 : 3,
  calleeFailed: 0,
  retransmissions: 0,
  setupMs: { p50: 1, p95: 2, p99: 3, max: 4 },
  clean,
  cpuMsPerCall: { edge: 1, worker: 2, 'sipp uac': 0.5, 'sipp uas': 0.5 },
  ...extra,
});

const system = (name: SystemResult['system'], steps: StepResult[]): SystemResult => ({
  system: name,
  label: name,
  steps,
});

describe('bench report', () => {
  it('takes the highest clean rate per system (an unclean step in between does not count) and the ratio to Kamailio', () => {
    const summaries = summarise([
      system('kamailio', [step(500, true), step(1000, true), step(1500, false)]),
      system('standalone', [step(500, true), step(1000, false)]),
      system('distributed-1w', [step(500, false)]),
      { system: 'distributed-2w', label: 'x', skipped: 'redis-server not installed', steps: [] },
    ]);
    expect(summaries.map((s) => [s.system, s.cleanRate, s.ratioToKamailio, s.ratioBound])).toEqual([
      ['kamailio', 1000, undefined, undefined],
      ['standalone', 500, 0.5, 'exact'],
      ['distributed-1w', 0, 0, 'exact'],
    ]);
  });

  it('checks the targets of issue 16 against the clean rates, lateness, Redis commands and round trips', () => {
    const late = { p50: 2, p99: 25, fired: 100 };
    const targets = checkTargets(
      summarise([
        system('kamailio', [step(1000, true), step(1500, false)]),
        system('standalone', [step(1000, true), step(1500, false)]),
        system('distributed-1w', [
          step(500, true, { timerLatenessMs: late, redisCommandsPerCall: 75, redisRoundTripsPerCall: 12 }),
          step(750, false),
        ]),
        system('distributed-2w', [
          step(200, true, {
            timerLatenessMs: { ...late, p99: 5 },
            redisCommandsPerCall: 81,
            redisRoundTripsPerCall: 17,
          }),
          step(300, false),
        ]),
      ]),
    );
    // The takeover did not run: its target is not judged.
    expect(targets.map((t) => t.met)).toEqual([true, true, false, false, false, false, undefined]);
    expect(targets[6]!.measured).toBe('not measured');
    expect(targets[3]!.measured).toContain('25.0 ms');
    expect(targets[4]!.measured).toContain('81.0');
    expect(targets[5]!.measured).toBe('17.0 (distributed-2w)');
  });

  it('bounds the ratio when a system never failed: its limit lies above the rates tried', () => {
    const summaries = summarise([
      system('kamailio', [step(500, true), step(1000, true)]),
      system('standalone', [step(500, true), step(1000, false)]),
      system('distributed-1w', [step(500, true), step(1000, true)]),
    ]);
    expect(summaries.map((s) => [s.system, s.limitFound, s.ratioBound])).toEqual([
      ['kamailio', false, undefined],
      ['standalone', true, 'at most'],
      ['distributed-1w', false, undefined],
    ]);
    // 0.5× at most: below 1.0 for sure; both clean throughout: not judged.
    expect(checkTargets(summaries).map((t) => t.met)).toEqual([
      false,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const againstFailedKamailio = checkTargets(
      summarise([
        system('kamailio', [step(500, true), step(1000, false)]),
        system('standalone', [step(250, true), step(500, true)]),
      ]),
    );
    // At least 1.0× (standalone never failed): met.
    expect(againstFailedKamailio[0]).toMatchObject({ met: true, measured: '≥ 1.00× (500 calls/s)' });
  });

  it('leaves the ratio targets unjudged when Kamailio did not run', () => {
    const targets = checkTargets(summarise([system('standalone', [step(1000, true)])]));
    expect(targets[0]!.met).toBeUndefined();
    expect(targets[0]!.measured).toMatch(/not measured/);
  });

  it('judges the takeover: every call CANCELled, the latest at most 5 s after its due time, the worker killed before', () => {
    const takeover = (extra: Partial<TakeoverResult> = {}): TakeoverResult => ({
      calls: 20,
      deadlineMs: 10_000,
      ringing: 20,
      cancelled: 20,
      terminated: 20,
      latenessMs: { min: 40, p50: 60, max: 90 },
      latenessFromForwardMs: { min: 5, p50: 20, max: 30 },
      killMarginMs: 7000,
      workerStartMs: 2000,
      survivor: { fired: 20, latenessP50Ms: 12 },
      problems: [],
      ...extra,
    });
    const judged = (t: TakeoverResult) => checkTargets([], t)[6]!;
    expect(judged(takeover())).toMatchObject({ met: true, measured: '20 of 20 calls CANCELled, max lateness 90 ms' });
    expect(judged(takeover({ latenessMs: { min: 40, p50: 60, max: 5000 } })).met).toBe(true);
    expect(judged(takeover({ latenessMs: { min: 40, p50: 60, max: 5001 } })).met).toBe(false);
    // A call that never got its CANCEL fails the target, however early the others came.
    expect(judged(takeover({ cancelled: 19 }))).toMatchObject({
      met: false,
      measured: expect.stringMatching(/^19 of 20/),
    });
    expect(judged(takeover({ cancelled: 0, latenessMs: undefined }))).toMatchObject({
      met: false,
      measured: '0 of 20 calls CANCELled, no CANCEL',
    });
    // Killed once a deadline was due: that worker may have fired it itself; no takeover measured.
    expect(judged(takeover({ killMarginMs: -5 }))).toMatchObject({
      met: undefined,
      measured: expect.stringMatching(/killed after/),
    });
    expect(takeoverLine(takeover())).toMatch(
      /^takeover: 20 of 20 calls ringing, .*SIGKILLed 7\.0 s before .*20\/20 CANCELs at the callee, 20\/20 487s at the caller, lateness min\/p50\/max 40\/60\/90 ms from the INVITE sent \(5\/20\/30 from its arrival at the callee\); worker-2 fired 20 deadlines/,
    );
  });
});
