import type { InboundMeta } from '@sipedge/handoff';
import type { Transport } from '@sipedge/sip';
import type { DialogSide, ProxyContext } from '@sipedge/proxy';
import type { TimerSettings, TransactionState } from '@sipedge/transaction';

/** Where a message goes: transport, address and port, and the flow/edge to use when known. */
export interface Hop {
  transport: Transport;
  address: string;
  port: number;
  /** Send on this TCP/TLS/WebSocket connection (a registered contact's flow, or the request's own). */
  flowId?: string;
  /** The edge that holds `flowId`, or that received the request. */
  edgeId?: string;
  /**
   * This hop is a UA's own flow (the connection it registered or called over, or its NAT binding):
   * our Record-Route names it, so that the dialog's later requests reach the UA over it too.
   */
  flow?: true;
  /**
   * A forced next hop for this attempt only (a dispatcher hop, §16.6 step 6): pushed as the top
   * Route of the forwarded request. Each dispatcher hop's tuples carry their own, so failing over to
   * the next hop changes the Route too.
   */
  route?: string;
  /**
   * The registered contact's Path (RFC 3327 §5.3), Route values in order: preloaded on the
   * forwarded request, its first URI the next hop.
   */
  routeSet?: string[];
  /**
   * Topology hiding applies between the request's source and this hop (libs/proxy topology.ts):
   * the request goes without the Vias, Record-Routes and Contact of its side, and the responses
   * come back without this hop's side's.
   */
  hidden?: true;
}

export interface ForkRecord {
  /** The INVITE/non-INVITE client transaction of the fork; null once terminated. */
  tx: TransactionState | null;
  /** The CANCEL client transaction of the fork (§9.1); null when none or terminated. */
  cancel: TransactionState | null;
  hop: Hop;
  /** Which of the target's resolved hops this is (RFC 3263 §4.3 failover); part of the branch. */
  attempt: number;
  /**
   * This attempt is the retry over UDP of one the size rule moved from UDP to TCP and whose
   * connection failed (§18.1.1); it has the same branch.
   */
  udpRetry?: true;
}

/**
 * Everything of one proxied (or locally answered) request: its server transaction, the response
 * context and every fork's client and CANCEL transactions. One JSON record under one Redis hash tag
 * (the context id), so each event is one load and one compare-and-set commit; any worker can apply
 * the next event.
 */
export interface CallRecord {
  v: 1;
  /** Context id: derived from the server transaction key; part of every fork's branch. */
  id: string;
  server: TransactionState | null;
  /** Where the request came from. */
  origin: InboundMeta;
  /** The response context, when the request was proxied. */
  proxy: ProxyContext | null;
  /**
   * The request after route pre-processing (binary string), from which forks are built (§16.6);
   * null before the decision, and while it is the server transaction's request unchanged (the usual
   * case, so stored once: `forkTemplate`). Set from it when the server transaction ends.
   */
  template: string | null;
  /**
   * Resolved next hops per target URI, in the order to try (RFC 3263 §4): a fork whose attempt
   * fails with a transport error, a timeout or a 503 is retried on the next one (§16.6 step 7).
   */
  hops: Record<string, Hop[]>;
  /**
   * The upstream side of our double Record-Route (the transport and flow the request came on,
   * dialog-trust.ts); each fork adds its downstream side. Null: no Record-Route (§16.6 step 4).
   */
  recordRoute: DialogSide | null;
  forks: ForkRecord[];
  /**
   * The request was taken (its server transaction answers retransmissions, an INVITE's has sent
   * 100 Trying) and the TU's decision is under way until this time (epoch ms): if it has not come
   * by then (the deciding worker died), the request is answered 500. Absent once it has come.
   */
  decisionDue?: number;
  /** When the INVITE's Expires runs out (epoch ms): its forks are CANCELled unless a final response went upstream. */
  expiresDue?: number;
  /**
   * The record's durable deadline as armed in the timer service (deadlines.ts): when it is due and
   * which of the record's deadline jobs it is. It may be earlier than the record's earliest durable
   * timer (a deadline is moved later only by its own fire), never later.
   */
  deadline?: { due: number; seq: number };
  /** The last deadline seq used: a new deadline job takes the next. */
  deadlineSeq?: number;
  /** Nothing left but absorbing retransmissions (deadlines.ts `isSettled`): counted as finished. */
  settled?: true;
  /** The server transaction of a CANCEL received for this request (§16.10). */
  cancelServer: TransactionState | null;
  cancelOrigin: InboundMeta | null;
  /** Where the server transaction's responses go (§18.2.2), from the request's top Via, derived once. */
  responseTo?: { address: string; port: number };
  /**
   * W3C `traceparent` of the span that created the record (the server transaction): later events on
   * the record, on any worker, are traced as its children. Absent when tracing is off.
   */
  trace?: string;
}

/** Transaction ids within a record, used as timer-name prefixes: `s`, `k`, `f<n>`, `x<n>`. */
export type TxId = 's' | 'k' | `f${number}` | `x${number}`;

export function isFinished(record: CallRecord): boolean {
  return (
    record.server === null &&
    record.cancelServer === null &&
    record.forks.every((f) => f.tx === null && f.cancel === null)
  );
}

/** What a call record's TTL keeps beyond its last timer, for a deadline fired late by a worker that took over. */
const RECORD_TTL_MARGIN_MS = 60_000;

/**
 * The TTL of a call record, renewed by every commit: longer than the longest a record waits
 * between two of its events — Timer C (§16.6 step 11), Timer D, the 64·T1 of Timers B, F, H and J
 * and of a decision — plus 64·T1 for the transaction that follows and a margin. Derived from the
 * timer settings, so that a long `SIPEDGE_TIMER_C_MS` cannot outlive its record. A record's own
 * timers may ask for more (`latest`, an INVITE's long Expires), and a settled one for less: until
 * its last absorbing timer.
 */
export function recordTtlMs(timers: TimerSettings, now: number, latest: number | null, settled: boolean): number {
  const transaction = 64 * timers.t1;
  const untilLatest = latest === null ? 0 : Math.max(0, latest - now);
  if (settled) return untilLatest + SETTLED_TTL_MARGIN_MS;
  const longestWait = Math.max(timers.timerC, timers.timerD, timers.t4, transaction) + transaction;
  return Math.max(longestWait, untilLatest) + RECORD_TTL_MARGIN_MS;
}

/** A settled record is kept this long after its last absorbing timer (its end is its TTL). */
const SETTLED_TTL_MARGIN_MS = 1000;
