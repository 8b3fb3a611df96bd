/**
 * What a benchmark run found: a line per step as it ends, then per system its highest clean rate,
 * the ratio of each sipedge mode to Kamailio, and the targets of issue 16 checked against them.
 */
import { SYSTEM_LABELS, type SystemName } from './systems.js';
import type { StepResult } from './step.js';
import type { Spread, TakeoverResult } from './takeover.js';

export interface SystemResult {
  system: SystemName;
  label: string;
  /** Why the system did not run (not installed, failed to start). */
  skipped?: string;
  timers?: string;
  steps: StepResult[];
}

export interface Summary {
  system: SystemName;
  label: string;
  /** The highest offered rate with zero failed calls (0: none was clean). */
  cleanRate: number;
  /** Whether a step failed: without one, the system's limit lies above the rates tried. */
  limitFound: boolean;
  /** cleanRate / Kamailio's. */
  ratioToKamailio?: number;
  /**
   * How far the ratio is known: exactly (both systems failed at some step), at least (only
   * Kamailio did: this system's limit is higher) or at most (only this system did).
   */
  ratioBound?: RatioBound;
  /** The figures of the step at the clean rate. */
  atCleanRate?: StepResult;
}

export type RatioBound = 'exact' | 'at least' | 'at most';

/** Both limits above the rates tried: no ratio. */
function boundOf(limitFound: boolean, kamailioLimitFound: boolean): RatioBound | undefined {
  if (limitFound && kamailioLimitFound) return 'exact';
  if (kamailioLimitFound) return 'at least';
  if (limitFound) return 'at most';
  return undefined;
}

export const formatRatio = (ratio: number, bound: RatioBound): string =>
  `${bound === 'at least' ? '≥ ' : bound === 'at most' ? '≤ ' : ''}${ratio.toFixed(2)}×`;

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

export const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || Number.isNaN(value)
    ? '–'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** CPU ms per call of the system's processes together (SIPp's left out). */
export const systemCpuMsPerCall = (step: StepResult): number =>
  Object.entries(step.cpuMsPerCall)
    .filter(([name]) => !name.startsWith('sipp'))
    .reduce((sum, [, ms]) => sum + ms, 0);

export const STEP_HEADER =
  'system                         calls/s  attempted  succeeded  failed  retrans  setup p50/p95/p99 ms  CPU ms/call (system | sipp)  Redis cmd/call  NATS msg/call  timer late p50/p99 ms';

export function stepLine(system: SystemName, step: StepResult): string {
  const sipp = (step.cpuMsPerCall['sipp uac'] ?? 0) + (step.cpuMsPerCall['sipp uas'] ?? 0);
  return [
    SYSTEM_LABELS[system].padEnd(30),
    fmt(step.rate).padStart(7),
    fmt(step.attempted).padStart(10),
    fmt(step.succeeded).padStart(10),
    fmt(step.failed + step.calleeFailed).padStart(7),
    fmt(step.retransmissions).padStart(8),
    `${fmt(step.setupMs.p50)}/${fmt(step.setupMs.p95)}/${fmt(step.setupMs.p99)}`.padStart(21),
    `${fmt(systemCpuMsPerCall(step), 3)} | ${fmt(sipp, 3)}`.padStart(28),
    fmt(step.redisCommandsPerCall, 1).padStart(15),
    fmt(step.natsMessagesPerCall, 1).padStart(14),
    step.timerLatenessMs === undefined
      ? '–'.padStart(21)
      : `${fmt(step.timerLatenessMs.p50, 1)}/${fmt(step.timerLatenessMs.p99, 1)}`.padStart(21),
    step.clean ? '' : '  ✗',
  ].join(' ');
}

/** Where a distributed step's Redis cost goes: round trips by operation and commands by name, per call. */
export function costLines(step: StepResult): string[] {
  const mix = (label: string, total: number | undefined, parts: Record<string, number> | undefined) =>
    parts === undefined
      ? []
      : [
          `${label} ${fmt(total, 1)}: ` +
            Object.entries(parts)
              .filter(([, n]) => n >= 0.05)
              .map(([name, n]) => `${name} ${fmt(n, 1)}`)
              .join(', '),
        ];
  return [
    ...mix('Redis round trips/call', step.redisRoundTripsPerCall, step.redisRoundTripMix),
    ...mix('Redis commands/call', step.redisCommandsPerCall, step.redisCommandMix),
  ];
}

export function summarise(results: readonly SystemResult[]): Summary[] {
  const cleanStep = (r: SystemResult) => [...r.steps].filter((s) => s.clean).sort((a, b) => b.rate - a.rate)[0];
  const failed = (r: SystemResult) => r.steps.some((s) => !s.clean);
  const kamailio = results.find((r) => r.system === 'kamailio' && r.skipped === undefined);
  const kamailioRate = kamailio === undefined ? undefined : (cleanStep(kamailio)?.rate ?? 0);
  return results
    .filter((r) => r.skipped === undefined)
    .map((r) => {
      const step = cleanStep(r);
      const cleanRate = step?.rate ?? 0;
      const limitFound = failed(r);
      const bound = kamailio === undefined ? undefined : boundOf(limitFound, failed(kamailio));
      const compared =
        kamailioRate !== undefined &&
        kamailioRate > 0 &&
        bound !== undefined &&
        r.system !== 'direct' &&
        r.system !== 'kamailio';
      return {
        system: r.system,
        label: r.label,
        cleanRate,
        limitFound,
        ...(compared ? { ratioToKamailio: cleanRate / kamailioRate, ratioBound: bound } : {}),
        ...(step === undefined ? {} : { atCleanRate: step }),
      };
    });
}

/** Whether `ratio ≥ at`, as far as the bound on the ratio tells. */
function judge(ratio: number, bound: RatioBound, at: number): boolean | undefined {
  if (bound === 'exact') return ratio >= at;
  if (bound === 'at least') return ratio >= at ? true : undefined;
  return ratio < at ? false : undefined;
}

/** The takeover target's bound: a dead worker's deadline fires this late at most. */
export const TAKEOVER_LATENESS_MS = 5000;

/**
 * Issue 16's targets: standalone ≥ 1.0× Kamailio, distributed ≥ 0.5×, timer lateness p99 ≤ 20 ms,
 * ≤ 80 Redis commands and ≤ 16 sequential round trips per call (timer work included); and, when
 * `takeover` ran (takeover.ts), a SIGKILLed worker's ringing calls' deadlines fire on another
 * worker within 5 s of their due time.
 */
export function checkTargets(summaries: readonly Summary[], takeover?: TakeoverResult): TargetCheck[] {
  const of = (name: SystemName) => summaries.find((s) => s.system === name);
  const ratio = (name: SystemName, at: number): TargetCheck => {
    const s = of(name);
    return {
      target: `${SYSTEM_LABELS[name]} ≥ ${at.toFixed(1)}× Kamailio's clean rate`,
      measured:
        s?.ratioToKamailio === undefined
          ? 'not measured (Kamailio or the system did not run, or both ran clean through the highest rate)'
          : `${formatRatio(s.ratioToKamailio, s.ratioBound!)} (${fmt(s.cleanRate)} calls/s)`,
      met: s?.ratioToKamailio === undefined ? undefined : judge(s.ratioToKamailio, s.ratioBound!, at),
    };
  };
  const distributed = summaries.filter((s) => s.system.startsWith('distributed') && s.atCleanRate !== undefined);
  const lateness = distributed.map((s) => ({ s, p99: s.atCleanRate!.timerLatenessMs?.p99 }));
  const commands = distributed.map((s) => ({ s, n: s.atCleanRate!.redisCommandsPerCall }));
  const roundTrips = distributed.map((s) => ({ s, n: s.atCleanRate!.redisRoundTripsPerCall }));
  const mostRoundTrips = roundTrips.sort((a, b) => (b.n ?? 0) - (a.n ?? 0))[0];
  const worstLate = lateness.sort((a, b) => (b.p99 ?? 0) - (a.p99 ?? 0))[0];
  const mostCommands = commands.sort((a, b) => (b.n ?? 0) - (a.n ?? 0))[0];
  return [
    ratio('standalone', 1.0),
    ratio('distributed-1w', 0.5),
    ratio('distributed-2w', 0.5),
    {
      target: 'deadline timer lateness p99 ≤ 20 ms (distributed, at the clean rate)',
      measured:
        worstLate === undefined
          ? 'not measured'
          : `${fmt(worstLate.p99, 1)} ms (${worstLate.s.label} at ${fmt(worstLate.s.cleanRate)} calls/s)`,
      met: worstLate?.p99 === undefined || Number.isNaN(worstLate.p99) ? undefined : worstLate.p99 <= 20,
    },
    {
      target: '≤ 80 Redis commands per call, timers included (distributed, at the clean rate)',
      measured: mostCommands === undefined ? 'not measured' : `${fmt(mostCommands.n, 1)} (${mostCommands.s.label})`,
      met: mostCommands?.n === undefined ? undefined : mostCommands.n <= 80,
    },
    {
      target: '≤ 16 sequential Redis round trips per call, timers included (distributed, at the clean rate)',
      measured:
        mostRoundTrips?.n === undefined ? 'not measured' : `${fmt(mostRoundTrips.n, 1)} (${mostRoundTrips.s.label})`,
      met: mostRoundTrips?.n === undefined ? undefined : mostRoundTrips.n <= 16,
    },
    takeoverTarget(takeover),
  ];
}

/**
 * Met iff every call got its CANCEL and the latest came at most 5 s after its due time; not
 * judged when the measurement did not run, or the worker died only after a deadline was due (then
 * it may have fired that deadline itself).
 */
function takeoverTarget(t: TakeoverResult | undefined): TargetCheck {
  const target = `a ringing call's deadline fires on another worker within ${TAKEOVER_LATENESS_MS / 1000} s of its due time after its worker is SIGKILLed`;
  if (t === undefined) return { target, measured: 'not measured', met: undefined };
  if (t.killMarginMs !== undefined && t.killMarginMs <= 0)
    return { target, measured: 'not measured: the worker was killed after a deadline was due', met: undefined };
  const latest = t.latenessMs === undefined ? 'no CANCEL' : `max lateness ${fmt(t.latenessMs.max)} ms`;
  return {
    target,
    measured: `${t.cancelled} of ${t.calls} calls CANCELled, ${latest}`,
    met: t.cancelled === t.calls && t.latenessMs !== undefined && t.latenessMs.max <= TAKEOVER_LATENESS_MS,
  };
}

/** The takeover measurement in one line. */
export function takeoverLine(t: TakeoverResult): string {
  const spread = (s: Spread) => `${fmt(s.min)}/${fmt(s.p50)}/${fmt(s.max)}`;
  const lateness =
    t.latenessMs === undefined
      ? 'no lateness (no CANCEL)'
      : `lateness min/p50/max ${spread(t.latenessMs)} ms from the INVITE sent` +
        (t.latenessFromForwardMs === undefined
          ? ''
          : ` (${spread(t.latenessFromForwardMs)} from its arrival at the callee)`);
  const kill =
    t.killMarginMs === undefined
      ? 'worker-1 not killed'
      : `worker-1 SIGKILLed ${fmt(t.killMarginMs / 1000, 1)} s before the first was due (worker-2 started in ${fmt((t.workerStartMs ?? 0) / 1000, 1)} s)`;
  const survivor =
    t.survivor === undefined
      ? ''
      : `; worker-2 fired ${t.survivor.fired} deadlines, lateness p50 ${fmt(t.survivor.latenessP50Ms, 1)} ms by its histogram`;
  return [
    `takeover: ${t.ringing} of ${t.calls} calls ringing, deadline ${fmt(t.deadlineMs / 1000)} s (INVITE Expires); ${kill}: `,
    `${t.cancelled}/${t.calls} CANCELs at the callee, ${t.terminated}/${t.calls} 487s at the caller, ${lateness}${survivor}`,
    t.problems.length === 0 ? '' : `; problems: ${t.problems.join('; ')}`,
  ].join('');
}

export function summaryLines(summaries: readonly Summary[], targets: readonly TargetCheck[]): string[] {
  const lines = ['', 'system                         clean calls/s  × Kamailio  CPU ms/call (system)  setup p99 ms'];
  for (const s of summaries) {
    lines.push(
      [
        s.label.padEnd(30),
        `${s.limitFound ? '' : '≥ '}${fmt(s.cleanRate)}`.padStart(14),
        (s.ratioToKamailio === undefined ? '–' : formatRatio(s.ratioToKamailio, s.ratioBound!)).padStart(11),
        fmt(s.atCleanRate === undefined ? undefined : systemCpuMsPerCall(s.atCleanRate), 3).padStart(21),
        fmt(s.atCleanRate?.setupMs.p99).padStart(13),
      ].join(' '),
    );
  }
  lines.push('', 'targets:');
  for (const t of targets) lines.push(`  ${t.met === undefined ? '?' : t.met ? '✓' : '✗'} ${t.target}: ${t.measured}`);
  return lines;
}
