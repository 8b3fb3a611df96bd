import type { TransactionState } from '@sipedge/transaction';
import type { CallRecord, TxId } from './record.js';

/**
 * The timers of a call record, read from the record itself: each transaction's armed RFC 3261
 * timers (with their due times) and the record's own (a decision under way, an INVITE's Expires).
 * Nothing else holds a call's timers: what must survive the process is the record's one durable
 * deadline (`timers` of @sipedge/timers), what need not runs on a local timer.
 *
 * - durable: B, C, F, H, the decision and the Expires: their fire changes what the caller hears
 *   (408, 500, a CANCEL). The record's deadline is the earliest of them: the worker that committed
 *   it fires it on a local timer at its due time, and its durable job, which runs a takeover delay
 *   later on whichever worker, fires it only when that worker is gone (call-store.ts).
 * - retransmit: A, E, G resend a message on an unreliable transport. They run on a local timer of
 *   the worker that committed them: if that worker dies, the retransmissions stop and the durable
 *   timer of the same transaction (B, F, H) ends it.
 * - absorb: D, I, J, K, L, M only keep a finished transaction around to absorb retransmissions and
 *   then delete it: they are the record's TTL, and a record loaded after one is due fires it first.
 */
export type TimerKind = 'durable' | 'retransmit' | 'absorb';

export interface RecordTimer {
  /** `<tx>.<timer>` for a transaction's (`s.B`, `f0.A`, `x1.F`), or `decision` / `expires`. */
  name: string;
  generation: number;
  due: number;
  kind: TimerKind;
}

/** The record's own timers (not a transaction's): a decision under way, an INVITE's Expires. */
export const DECISION_TIMER = 'decision';
export const EXPIRES_TIMER = 'expires';

const RETRANSMIT = new Set(['A', 'E', 'G']);
const ABSORB = new Set(['D', 'I', 'J', 'K', 'L', 'M']);

/**
 * Calls `visit` for every timer armed in a record, with the transaction that holds it (null for the
 * record's own), without building a list or names: the aggregates below run on every commit.
 */
function forEachTimer(
  record: CallRecord,
  visit: (kind: TimerKind, due: number, generation: number, tx: TxId | null, timer: string) => void,
): void {
  const ofTx = (id: TxId, tx: TransactionState | null) => {
    if (tx === null) return;
    for (const timer in tx.timers) {
      const armed = tx.timers[timer as keyof typeof tx.timers];
      if (armed === undefined) continue;
      const kind: TimerKind = RETRANSMIT.has(timer) ? 'retransmit' : ABSORB.has(timer) ? 'absorb' : 'durable';
      visit(kind, armed.due, armed.gen, id, timer);
    }
  };
  ofTx('s', record.server);
  ofTx('k', record.cancelServer);
  for (let i = 0; i < record.forks.length; i++) {
    const fork = record.forks[i]!;
    ofTx(`f${i}`, fork.tx);
    ofTx(`x${i}`, fork.cancel);
  }
  if (record.decisionDue !== undefined) visit('durable', record.decisionDue, 1, null, DECISION_TIMER);
  if (record.expiresDue !== undefined) visit('durable', record.expiresDue, 1, null, EXPIRES_TIMER);
}

/** Every timer armed in a record. */
export function recordTimers(record: CallRecord): RecordTimer[] {
  const timers: RecordTimer[] = [];
  forEachTimer(record, (kind, due, generation, tx, timer) =>
    timers.push({ name: tx === null ? timer : `${tx}.${timer}`, generation, due, kind }),
  );
  return timers;
}

/**
 * The timers due at `now`, earliest first, retransmissions last: a retransmission that is overdue
 * together with a timer that ends its transaction (a worker took over a dead one's deadline) is
 * not sent after all.
 */
export function dueTimers(record: CallRecord, now: number): RecordTimer[] {
  const last = (t: RecordTimer) => (t.kind === 'retransmit' ? 1 : 0);
  return recordTimers(record)
    .filter((t) => t.due <= now)
    .sort((a, b) => last(a) - last(b) || a.due - b.due);
}

/** The earliest due time of the record's timers of `kind`, or null when none is armed. */
export function earliest(record: CallRecord, kind: TimerKind): number | null {
  let min: number | null = null;
  forEachTimer(record, (k, due) => {
    if (k === kind && (min === null || due < min)) min = due;
  });
  return min;
}

/** The latest due time of any timer of the record, or null when none is armed. */
export function latestDue(record: CallRecord): number | null {
  let max: number | null = null;
  forEachTimer(record, (_kind, due) => {
    if (max === null || due > max) max = due;
  });
  return max;
}

/**
 * Whether the record has nothing left to do but absorb retransmissions: no durable or
 * retransmission timer, and no transaction still waiting for its final response (an INVITE
 * client without Timer C waits in Proceeding with no timer at all).
 */
export function isSettled(record: CallRecord): boolean {
  const live = (tx: TransactionState | null) =>
    tx !== null && (tx.state === 'calling' || tx.state === 'trying' || tx.state === 'proceeding');
  if (live(record.server) || live(record.cancelServer)) return false;
  if (record.forks.some((f) => live(f.tx) || live(f.cancel))) return false;
  let absorbOnly = true;
  forEachTimer(record, (kind) => {
    absorbOnly &&= kind === 'absorb';
  });
  return absorbOnly;
}
