/**
 * A dead worker's deadline taken over: ringing calls whose worker is SIGKILLed before their
 * deadline is due, and how late the deadline fires on the worker that survives it.
 *
 * 1. A distributed deployment as the benchmark starts one (`startDistributed`): Redis, NATS, one
 *    worker (`worker-1`) and one edge.
 * 2. A callee (a raw UDP socket) answers each INVITE 100 and 180 Ringing and never 200; a caller
 *    (another one) sends N INVITEs through the edge, each with `Expires: <deadline>`. The worker
 *    keeps an INVITE's Expires as the call's durable deadline (the record's `expiresDue`, a BullMQ
 *    delayed job with the record's other durable timers: services/worker/src/deadlines.ts); when it
 *    runs out unanswered the worker CANCELs the branch (RFC 3261 §13.3.1, §16.8, §9.1).
 * 3. Once every call rang (each 180 sent), `worker-2` is started and `worker-1` SIGKILLed, before
 *    the first deadline is due: every deadline was scheduled by the dead worker.
 * 4. The callee answers the CANCEL 200 and the INVITE 487; the caller ACKs the 487.
 *
 * Per call: lateness = CANCEL's arrival at the callee − (INVITE sent by the caller + the deadline).
 * The worker starts the deadline when it forwards the INVITE, after the caller sent it, so this is
 * an upper bound of the deadline's lateness: it also counts the INVITE's way to the worker and the
 * CANCEL's way to the callee. Reckoned from the INVITE's arrival at the callee instead (after the
 * worker started the deadline) it is a lower bound, reported beside it.
 *
 * Why Expires and not Timer C (restarted by the 180, §16.6 step 11, §16.7 step 2): the workers
 * refuse a Timer C of 3 minutes or less (§16.6; libs/transaction/src/timers.ts), which would make
 * each run last more than 3 minutes. Both are durable timers of the same record and fire the same
 * way (the record's one deadline job, taken by whichever worker is alive when it is due).
 *
 * Every wait is bounded; the processes are stopped and the sockets closed whatever happens.
 */
import { histogramQuantile, percentile } from '../support/stats.js';
import { deadlineLateness } from './probes.js';
import { Callee, type CalleeCall, Caller, type CallerCall, waitFor } from './ringing.js';
import { type DistributedSystem, startDistributed } from './systems.js';

export interface TakeoverOptions {
  /** Ringing calls (default 20). */
  calls?: number;
  /** Each INVITE's Expires, seconds (default 10): long enough to start a second worker before it runs out. */
  deadlineSeconds?: number;
  /** The whole measurement's bound, ms, from the first INVITE (default the deadline + 20 s). */
  timeoutMs?: number;
}

export interface Spread {
  min: number;
  p50: number;
  max: number;
}

export interface TakeoverResult {
  calls: number;
  /** Each call's deadline after its INVITE (its Expires), ms. */
  deadlineMs: number;
  /** Calls whose 180 the callee sent before the kill. */
  ringing: number;
  /** Calls whose CANCEL reached the callee. */
  cancelled: number;
  /** Calls whose 487 reached the caller. */
  terminated: number;
  /** CANCEL at the callee − (INVITE sent + deadline), ms, over the cancelled calls: at least the true lateness. */
  latenessMs?: Spread;
  /** CANCEL at the callee − (INVITE at the callee + deadline), ms: at most the true lateness. */
  latenessFromForwardMs?: Spread;
  /** The first call's deadline − the SIGKILL of the worker that scheduled it, ms (> 0: killed before any was due). */
  killMarginMs?: number;
  /** How long the second worker took to start (until it logged 'worker started'), ms. */
  workerStartMs?: number;
  /** Call deadlines the surviving worker fired, and their lateness there (its histogram, interpolated), ms. */
  survivor?: { fired: number; latenessP50Ms?: number };
  /** What went wrong, if anything did. */
  problems: string[];
}

/** How long the calls may take to ring. */
const RINGING_TIMEOUT_MS = 10_000;
/** The user part of the calls' Request-URI. */
const USER = 'takeover';

const spread = (values: number[]): Spread | undefined => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : { min: sorted[0]!, p50: percentile(sorted, 0.5), max: sorted.at(-1)! };
};

/** What became of the calls: CANCELs, 487s and the lateness of their deadlines. */
function outcome(sent: readonly CallerCall[], seen: ReadonlyMap<string, CalleeCall>, deadlineMs: number) {
  const fromSent: number[] = [];
  const fromForward: number[] = [];
  for (const call of sent) {
    const at = seen.get(call.callId);
    if (at?.cancelAt === undefined) continue;
    fromSent.push(at.cancelAt - (call.sentAt + deadlineMs));
    fromForward.push(at.cancelAt - (at.invitedAt + deadlineMs));
  }
  const latenessMs = spread(fromSent);
  const latenessFromForwardMs = spread(fromForward);
  return {
    cancelled: fromSent.length,
    terminated: sent.filter((c) => c.terminatedAt !== undefined).length,
    ...(latenessMs === undefined ? {} : { latenessMs }),
    ...(latenessFromForwardMs === undefined ? {} : { latenessFromForwardMs }),
  };
}

/** Runs the measurement on a deployment of its own (needs redis-server and nats-server). */
export async function measureTakeover(options: TakeoverOptions = {}): Promise<TakeoverResult> {
  const calls = options.calls ?? 20;
  const deadlineMs = (options.deadlineSeconds ?? 10) * 1000;
  const timeoutMs = options.timeoutMs ?? deadlineMs + 20_000;
  const result: TakeoverResult = { calls, deadlineMs, ringing: 0, cancelled: 0, terminated: 0, problems: [] };
  let system: DistributedSystem | undefined;
  let callee: Callee | undefined;
  let caller: Caller | undefined;
  try {
    system = await startDistributed({ name: 'distributed-1w', workers: 1 });
    callee = await Callee.open();
    caller = await Caller.open(system.target, `sip:${USER}@127.0.0.1:${callee.port}`, deadlineMs / 1000);
    const started = Date.now();
    const until = started + timeoutMs;
    const sent = Array.from({ length: calls }, () => caller!.invite());
    const ringing = () => [...callee!.calls.values()].filter((c) => c.ringingAt !== undefined).length;
    const rang = await waitFor(() => ringing() === calls, Math.min(until, started + RINGING_TIMEOUT_MS));
    result.ringing = ringing();
    if (!rang) {
      result.problems.push(
        `${result.ringing} of ${calls} calls rang within ${RINGING_TIMEOUT_MS} ms; no worker killed`,
      );
      return result;
    }
    const workerStart = Date.now();
    const survivor = await system.startWorker();
    result.workerStartMs = Date.now() - workerStart;
    const survivorMetrics = system.workerMetricsUrls[1]!;
    await system.killWorker('worker-1');
    const firstDue = Math.min(...sent.map((c) => c.sentAt)) + deadlineMs;
    result.killMarginMs = firstDue - Date.now();
    if (result.killMarginMs <= 0) result.problems.push('worker-1 was killed after the first deadline was due');
    const allEnded = () => sent.every((c) => c.terminatedAt !== undefined || c.otherFinal !== undefined);
    const everyCancel = () => [...callee!.calls.values()].every((c) => c.cancelAt !== undefined);
    if (!(await waitFor(() => allEnded() && everyCancel(), until)))
      result.problems.push(`not every call ended within ${timeoutMs} ms of the first INVITE`);
    Object.assign(result, outcome(sent, callee.calls, deadlineMs));
    const others = sent.filter((c) => c.otherFinal !== undefined).map((c) => c.otherFinal);
    if (others.length > 0) result.problems.push(`${others.length} calls ended with ${[...new Set(others)].join(', ')}`);
    try {
      const buckets = await deadlineLateness(survivorMetrics);
      const p50 = histogramQuantile(buckets, 0.5);
      result.survivor = {
        fired: buckets.get(Infinity) ?? 0,
        ...(p50 === undefined ? {} : { latenessP50Ms: p50 * 1000 }),
      };
    } catch (error) {
      result.problems.push(`${survivor}'s metrics: ${String(error)}`);
    }
    return result;
  } finally {
    caller?.close();
    callee?.close();
    await system?.stop();
  }
}
