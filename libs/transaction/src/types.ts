import type { SipMessage } from '@sipedge/sip';
import type { TimerName } from './timers.js';

export type TransactionKind = 'ict' | 'nict' | 'ist' | 'nist';

export type TransactionStateName =
  'calling' | 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** A JSON value: what the caller may attach to a transaction (e.g. where a client transaction sends). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An armed timer: its generation, the interval it was started with (for doubling) and when it is due. */
export interface ArmedTimer {
  gen: number;
  interval: number;
  /** Epoch ms at which it fires: the caller fires every armed timer whose time has come. */
  due: number;
}

/**
 * The whole state of one transaction: a plain JSON record, so it can live in Redis and any worker
 * can apply the next event. Messages are held as binary strings (latin1, one character per byte).
 */
export interface TransactionState {
  /** Record schema version; `deserialise` rejects other versions. */
  v: 1;
  kind: TransactionKind;
  state: TransactionStateName;
  /** Matching key (§17.1.3 for clients, §17.2.3 for servers). */
  key: string;
  reliable: boolean;
  /** The request that created the transaction. */
  request: string;
  /**
   * Server: the last response sent (retransmitted on request retransmission). Client: null (what
   * it receives goes to the TU; a non-2xx's ACK is kept in `ack`).
   */
  response: string | null;
  /** INVITE client: the ACK sent for a non-2xx final response (§17.1.1.3). */
  ack: string | null;
  /** INVITE client with Timer C: whether a provisional response has arrived (§16.8). */
  provisional: boolean;
  /** INVITE client with Timer C: whether Timer C has fired once in Proceeding (the CANCEL was asked for). */
  cancelRequested: boolean;
  /** Armed timers by name; a fire whose generation is not the armed one is stale. */
  timers: Partial<Record<TimerName, ArmedTimer>>;
  /** Last generation handed out. */
  gen: number;
  createdAt: number;
  updatedAt: number;
  /** Caller data kept with the transaction (destination, trace context, ...). */
  data: Json;
}

export type TransactionEvent =
  /** Client: a response received for this transaction. */
  | { type: 'response'; message: SipMessage }
  /** Server: a request received for this transaction (a retransmission, or the ACK of an INVITE). */
  | { type: 'request'; message: SipMessage }
  /** Server: the TU sends a response. */
  | { type: 'send-response'; message: SipMessage }
  | { type: 'timer'; timer: TimerName; generation: number }
  /** The transport failed to deliver what the transaction sent (§17.1.4, §17.2.4). */
  | { type: 'transport-error' };

export type TransactionAction =
  /** Send these bytes on the transaction's transport (to the destination in `data`, or to the Via for servers). */
  | { type: 'send'; wire: Buffer; what: 'request' | 'response' | 'ack' }
  /** Hand a message to the transaction user. */
  | { type: 'to-tu'; message: SipMessage }
  | { type: 'start-timer'; timer: TimerName; delayMs: number; generation: number }
  | { type: 'cancel-timer'; timer: TimerName; generation: number }
  /** Timer B, F, H or C (no provisional) expired: the TU treats it as a 408 (§8.1.3.1, §16.8). */
  | { type: 'timeout'; timer: TimerName }
  | { type: 'transport-error' }
  /** Timer C fired after a provisional: the proxy must CANCEL this branch (§16.8). */
  | { type: 'cancel-branch' }
  /** The transaction reached Terminated: delete its record. */
  | { type: 'terminated' };

/** Outcome of applying one event: the new state, what to do after committing it, and which transitions ran. */
export interface Step {
  state: TransactionState;
  actions: TransactionAction[];
  transitions: string[];
}
