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
    expect(summaries.map((s) => [s.system, s.cleanRate, s.ratioToKamailio])).toEqual([
      ['kamailio', 1000, undefined],
      ['standalone', 500, 0.5],
      ['distributed-1w', 0, 0],
    ]);
  });

  it('checks the targets of issue 9 against the clean rates, lateness and Redis commands', () => {
    const late = { p50: 2, p99: 25, fired: 100 };
    const targets = checkTargets(
      summarise([
        system('kamailio', [step(1000, true)]),
        system('standalone', [step(1000, true)]),
        system('distributed-1w', [step(500, true, { timerLatenessMs: late, redisCommandsPerCall: 11 })]),
        system('distributed-2w', [step(200, true, { timerLatenessMs: { ...late, p99: 5 }, redisCommandsPerCall: 14 })]),
      ]),
    );
    expect(targets.map((t) => t.met)).toEqual([true, true, false, false, false]);
    expect(targets[3]!.measured).toContain('25.0 ms');
    expect(targets[4]!.measured).toContain('14.0');
  });

  it('leaves the ratio targets unjudged when Kamailio did not run', () => {
    const targets = checkTargets(summarise([system('standalone', [step(1000, true)])]));
    expect(targets[0]!.met).toBeUndefined();
    expect(targets[0]!.measured).toMatch(/not measured/);
  });
});
