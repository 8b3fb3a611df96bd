import { describe, expect, it } from 'vitest';
import { checkTargets, summarise, type SystemResult } from '../../bench/calls/report.js';
import type { StepResult } from '../../bench/calls/step.js';

const step = (rate: number, clean: boolean, extra: Partial<StepResult> = {}): StepResult => ({
  rate,
  seconds: 10,
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
    expect(targets.map((t) => t.met)).toEqual([true, true, false, false, false, false]);
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
});
