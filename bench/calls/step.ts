/**
 * One step of the benchmark: SIPp calls a running system at a fixed rate for a fixed time, and
 * what the step cost is read from the processes and services before and after.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.js';
import { bucketDelta, type Buckets, histogramQuantile, percentile } from '../support/stats.js';
import { exitedChildrenCpuSeconds, treeCpuSeconds } from './cpu.js';
import { portBound } from './probe.js';
import { natsMessagesIn, redisCommands, redisRoundTrips, timerLateness } from './probes.js';
import { ExpiringCalls, type ExpiringOutcome } from './ringing.js';
import { type BenchTransport, type FinishedSipp, setupTimesMs, startSipp } from './sipp.js';
import type { RunningSystem } from './systems.js';

/** The caller's hold between ACK and BYE (bench/calls/sipp/uac.xml). */
const HOLD_SECONDS = 1;
/** SIPp's -l at most (it refuses more calls in progress than open files allow, 20,000 here). */
const MAX_CALLS_IN_PROGRESS = 10_000;
/** How long the callee may still be busy after the caller's last call: its 2 s timewait, and a margin. */
const CALLEE_GRACE_MS = 3_000;
/**
 * Beside SIPp's calls, a sipedge step offers this many ringing calls a second whose INVITE's
 * Expires runs out (`ExpiringCalls`): deadlines firing at the step's load, whose lateness the
 * step reports (SIPp's calls, which complete, fire none). Their cost is counted in the step's.
 */
const EXPIRING_RATE = 5;
/** Their Expires, seconds; a step shorter than twice this offers none. */
const EXPIRES_SECONDS = 5;
/** How long after the last one is due the expiring calls may take to end. */
const EXPIRING_GRACE_MS = 10_000;

export interface StepResult {
  /** Offered calls per second and for how long. */
  rate: number;
  seconds: number;
  /** host:port of the step's callee (SIPp): a port of its own. */
  callee: string;
  attempted: number;
  succeeded: number;
  /** Calls the caller counted failed, and calls the callee did (an ACK or BYE that never came). */
  failed: number;
  calleeFailed: number;
  /** Retransmissions by the caller and the callee (SIPp's counters). */
  retransmissions: number;
  /** INVITE sent → 200 received at the caller, ms (SIPp's millisecond clock). */
  setupMs: { p50: number; p95: number; p99: number; max: number };
  /** Zero failed calls at either end, every planned call made, SIPp exited 0. */
  clean: boolean;
  /** CPU seconds per attempted call, by process (the system's, then SIPp's). */
  cpuMsPerCall: Record<string, number>;
  redisCommandsPerCall?: number;
  /** The workers' Redis round trips per call (record loads and commits, deadline jobs' changes). */
  redisRoundTripsPerCall?: number;
  /** Those round trips per call by operation, most frequent first. */
  redisRoundTripMix?: Record<string, number>;
  /** The commands behind that figure, per call, most frequent first. */
  redisCommandMix?: Record<string, number>;
  natsMessagesPerCall?: number;
  /** Lateness of the timers that fired during the step (workers' histogram, interpolated). */
  timerLatenessMs?: { p50: number; p99: number; fired: number };
  /** The ringing calls ended by their Expires offered beside SIPp's (sipedge steps of 10 s and more). */
  expiringCalls?: ExpiringOutcome;
  /** Why the step was not clean: the start of SIPp's error log. */
  problem?: string;
}

interface Snapshot {
  cpu: Map<string, number>;
  redis?: Map<string, number>;
  roundTrips?: Map<string, number>;
  nats?: number;
  lateness?: Buckets;
}

async function snapshot(system: RunningSystem): Promise<Snapshot> {
  const cpu = treeCpuSeconds(system.processes.map((p) => p.pid));
  return {
    cpu: new Map(system.processes.map(({ name, pid }) => [name, cpu.get(pid)!])),
    ...(system.redisUrl === undefined
      ? {}
      : {
          redis: await redisCommands(system.redisUrl),
          roundTrips: await redisRoundTrips(system.workerMetricsUrls),
        }),
    ...(system.natsMonitorUrl === undefined ? {} : { nats: await natsMessagesIn(system.natsMonitorUrl) }),
    ...(system.workerMetricsUrls.length === 0 ? {} : { lateness: await timerLateness(system.workerMetricsUrls) }),
  };
}

/**
 * One step: `rate` calls a second for `seconds` through `system`, to a callee on a port of the
 * step's own. What the system still sends for an earlier step's calls (a BYE retransmitted until
 * Timer F, to a callee that is gone) goes to that step's port and is not counted against this one.
 */
export async function runStep(
  system: RunningSystem,
  rate: number,
  seconds: number,
  transport: BenchTransport,
): Promise<StepResult> {
  const dir = mkdtempSync(join(tmpdir(), `sipedge-bench-${system.name}-${rate}-`));
  const calls = rate * seconds;
  // Every run ends by itself: the callee is stopped after the caller, whose global timeout covers
  // the calls' own (10 s for the 200 and for the BYE's 200, the hold) with a margin.
  const timeoutS = seconds + HOLD_SECONDS + 40;
  // High enough not to hold new calls back (a system that falls behind shows as failed calls), and
  // below SIPp's bound: calls + sockets under the open-file limit.
  const limit = Math.min(rate * 15, MAX_CALLS_IN_PROGRESS);
  const before = await snapshot(system);
  const sippCpuBefore = exitedChildrenCpuSeconds();
  const uasPort = await freePort();
  const calleeAt = `127.0.0.1:${uasPort}`;
  const target = system.target ?? calleeAt;
  const uas = startSipp({ role: 'uas', transport, dir, port: uasPort, limit, timeoutS: timeoutS + 10 });
  await portBound(transport, uasPort, 5_000);
  const uac = startSipp({
    role: 'uac',
    transport,
    dir,
    port: await freePort(),
    target,
    // The Request-URI's host part: over TCP it says so (RFC 3263 §4.1: a URI without it means UDP).
    uas: transport === 'tcp' ? `${calleeAt};transport=tcp` : calleeAt,
    rate,
    calls,
    limit,
    timeoutS,
  });
  const expiring =
    system.workerMetricsUrls.length > 0 && seconds >= 2 * EXPIRES_SECONDS
      ? await ExpiringCalls.start(target, {
          rate: EXPIRING_RATE,
          forMs: (seconds - EXPIRES_SECONDS) * 1000,
          expiresSeconds: EXPIRES_SECONDS,
        })
      : undefined;
  const caller = await uac.done;
  await new Promise((resolve) => setTimeout(resolve, CALLEE_GRACE_MS));
  uas.process.kill('SIGTERM');
  const callee = await uas.done;
  const expiringCalls = await expiring?.finish(Date.now() + EXPIRES_SECONDS * 1000 + EXPIRING_GRACE_MS);
  const after = await snapshot(system);

  const setup = setupTimesMs(dir);
  const perCall = (value: number) => value / Math.max(1, caller.counters.created);
  const cpuMsPerCall: Record<string, number> = {};
  for (const [name, cpu] of after.cpu) cpuMsPerCall[name] = perCall((cpu - before.cpu.get(name)!) * 1000);
  const [callerCpu, calleeCpu] = sippCpu(sippCpuBefore, caller, callee) as [number, number];
  cpuMsPerCall['sipp uac'] = perCall(callerCpu * 1000);
  cpuMsPerCall['sipp uas'] = perCall(calleeCpu * 1000);
  const expiringLost =
    expiringCalls === undefined ||
    (expiringCalls.cancelled === expiringCalls.sent && expiringCalls.terminated === expiringCalls.sent)
      ? undefined
      : `expiring calls: ${expiringCalls.sent} offered, ${expiringCalls.cancelled} CANCELled, ${expiringCalls.terminated} ended 487`;
  const clean =
    caller.exitCode === 0 &&
    caller.counters.failed === 0 &&
    callee.counters.failed === 0 &&
    caller.counters.succeeded === calls &&
    expiringLost === undefined;
  return {
    rate,
    seconds,
    callee: calleeAt,
    attempted: caller.counters.created,
    succeeded: caller.counters.succeeded,
    failed: caller.counters.failed,
    calleeFailed: callee.counters.failed,
    retransmissions: caller.counters.retransmissions + callee.counters.retransmissions,
    setupMs: {
      p50: percentile(setup, 0.5),
      p95: percentile(setup, 0.95),
      p99: percentile(setup, 0.99),
      max: setup[setup.length - 1] ?? Number.NaN,
    },
    clean,
    cpuMsPerCall,
    ...redisCost(before, after, perCall),
    ...(before.roundTrips === undefined ? {} : roundTripCost(before.roundTrips, after.roundTrips!, perCall)),
    ...(before.nats === undefined ? {} : { natsMessagesPerCall: perCall(after.nats! - before.nats) }),
    ...(before.lateness === undefined
      ? {}
      : { timerLatenessMs: lateness(bucketDelta(before.lateness, after.lateness!)) }),
    ...(expiringCalls === undefined ? {} : { expiringCalls }),
    ...(clean
      ? {}
      : {
          problem: [
            expiringLost,
            `caller exit ${caller.exitCode ?? caller.signal}: ${caller.output.trim().slice(0, 1500)}`,
          ]
            .filter((line) => line !== undefined)
            .join('\n'),
        }),
  };
}

/**
 * The SIPp runs' own CPU seconds, in the order given: each one's cutime reading at its exit minus
 * the reading of the run that exited before it (or the step's starting reading).
 */
function sippCpu(startReading: number, ...runs: FinishedSipp[]): number[] {
  const byExit = [...runs].sort((a, b) => a.childrenCpuAtExit - b.childrenCpuAtExit);
  return runs.map((run) => {
    const index = byExit.indexOf(run);
    return run.childrenCpuAtExit - (index === 0 ? startReading : byExit[index - 1]!.childrenCpuAtExit);
  });
}

/** Per-call differences of two counter snapshots, most frequent first, and their sum. */
function perCallMix(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  perCall: (value: number) => number,
): { total: number; mix: Record<string, number> } {
  const mix = [...after]
    .map(([name, count]) => [name, perCall(count - (before.get(name) ?? 0))] as const)
    .filter(([, perCallCount]) => perCallCount > 0)
    .sort((a, b) => b[1] - a[1]);
  return { total: mix.reduce((sum, [, n]) => sum + n, 0), mix: Object.fromEntries(mix) };
}

function roundTripCost(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  perCall: (value: number) => number,
): Pick<StepResult, 'redisRoundTripsPerCall' | 'redisRoundTripMix'> {
  const { total, mix } = perCallMix(before, after, perCall);
  return { redisRoundTripsPerCall: total, redisRoundTripMix: mix };
}

function redisCost(
  before: Snapshot,
  after: Snapshot,
  perCall: (value: number) => number,
): Pick<StepResult, 'redisCommandsPerCall' | 'redisCommandMix'> {
  if (before.redis === undefined) return {};
  const { total, mix } = perCallMix(before.redis, after.redis!, perCall);
  return { redisCommandsPerCall: total, redisCommandMix: mix };
}

function lateness(delta: Buckets): StepResult['timerLatenessMs'] {
  const fired = delta.get(Infinity) ?? 0;
  return {
    p50: (histogramQuantile(delta, 0.5) ?? Number.NaN) * 1000,
    p99: (histogramQuantile(delta, 0.99) ?? Number.NaN) * 1000,
    fired,
  };
}
