/**
 * The shared state of the fleet: transaction and proxy-context records, the registrar's location
 * service, the connection directory, the live-edge registry, digest nonces, the user table and the
 * abuse state (request and failure counters, bans). Each port has a Redis adapter (ioredis, single
 * node or Cluster) and an in-memory twin with the same semantics.
 */

import type {
  AbuseState,
  Ban,
  Binding,
  BindingUpdate,
  LocationService,
  RegisterOp,
  RegisterResult,
  RequestCounts,
} from '@sipedge/ports';

export type { Ban, Binding, BindingUpdate, RegisterOp, RegisterResult, RequestCounts };

/** A stored record and its version (1 for the first write, +1 per commit). */
export interface StoredRecord {
  readonly value: string;
  readonly version: number;
}

/**
 * A record's new text: the text, or a function that gives it, which a store calls at most once and
 * only when it needs the text. Redis's adapter calls it at the commit; the in-memory twin keeps it
 * until the record is loaded, so a record that is never read back (the worker that committed it
 * keeps its object) is never encoded. What it encodes is not changed after the commit.
 */
export type RecordText = string | (() => string);

/** The text of a {@link RecordText}. */
export const textOf = (value: RecordText): string => (typeof value === 'string' ? value : value());

export interface RecordWrite {
  readonly key: string;
  /** The version the record must have now for the commit to go through; 0 = it must not exist. */
  readonly expectedVersion: number;
  /** The new value, or null to delete the record. */
  readonly value: RecordText | null;
  /** Time to live of the written record in ms, so nothing outlives its longest timer. */
  readonly ttlMs: number;
}

export type CommitResult =
  | { readonly ok: true; readonly versions: readonly number[] }
  | { readonly ok: false; readonly conflicts: readonly string[] };

/**
 * Versioned records with compare-and-set. All keys of one `load` or `commit` must share a hash tag
 * (`{...}`), so that in a Redis Cluster they live in one slot and one script can touch them all.
 */
export interface RecordStore {
  /** Reads the records in one round trip; a missing record is null. */
  load(keys: readonly string[]): Promise<(StoredRecord | null)[]>;
  /** Applies every write or none: all expected versions must match (one atomic script). */
  commit(writes: readonly RecordWrite[]): Promise<CommitResult>;
}

/** The location service (`LocationService` of @sipedge/ports), with what operators and the keep-alives need. */
export interface LocationStore extends LocationService {
  /** Removes bindings (by contact key) that are not to be used any more (a contact that stopped answering). */
  remove(aor: string, uriKeys: readonly string[]): Promise<void>;
  /**
   * AORs with current bindings whose AOR contains `match` (without case; every one without it): at
   * most `limit` of them (which ones, when there are more, is the adapter's choice), ordered by
   * AOR. For operators (the admin API), never for routing: an adapter may examine a bounded number
   * of keys per call, and `truncated` says more may exist.
   */
  list(query: RegistrationQuery, now: number): Promise<RegistrationList>;
}

export interface RegistrationQuery {
  match?: string;
  limit: number;
}

export interface RegistrationList {
  registrations: { aor: string; bindings: Binding[] }[];
  /** More may exist than were returned (the limit was reached, or the adapter stopped looking). */
  truncated: boolean;
}

/** A dialog the fleet's proxy is in (its INVITE's 2xx forwarded, Record-Routed), as operators see it. */
export interface DialogInfo {
  /** Call-ID and both tags (`dialogId` of the worker): the same from either side. */
  readonly id: string;
  readonly callId: string;
  /** The From and To URIs of the INVITE. */
  readonly caller: string;
  readonly callee: string;
  /** Epoch ms of the 2xx. */
  readonly startedAt: number;
}

/**
 * The fleet's live dialogs (dialog-stateful tracking): opened when a 2xx to an initial INVITE is
 * forwarded, closed by the dialog's BYE, or ended at `endsAt` when no BYE came through.
 */
export interface DialogStore {
  open(dialog: DialogInfo, endsAt: number): Promise<void>;
  close(id: string): Promise<void>;
  /** How many dialogs are live, and the `limit` most recent of them (0: only the count). */
  list(limit: number, now: number): Promise<{ total: number; dialogs: DialogInfo[] }>;
}

/** A SIP message an edge received or sent, as the call-flow page shows it. */
export interface CapturedSipMessage {
  readonly callId: string;
  /** Epoch ms (fractions: sub-millisecond order). */
  readonly at: number;
  readonly edgeId: string;
  /** Received by the edge (`in`) or sent by it (`out`). */
  readonly direction: 'in' | 'out';
  readonly transport: string;
  readonly source: { readonly address: string; readonly port: number };
  readonly destination: { readonly address: string; readonly port: number };
  /** The whole message as text, credentials redacted. */
  readonly text: string;
}

/** What a captured message says of its call, for the call's summary. */
export interface CaptureFacts {
  /** A request: its method and its From and To URIs. */
  readonly method?: string;
  readonly from?: string;
  readonly to?: string;
  /** A response: its status and its CSeq method. */
  readonly status?: number;
  readonly cseqMethod?: string;
}

/** A captured call: its first request, that request's final status (null while none), its messages. */
export interface CapturedCall {
  readonly callId: string;
  readonly method: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly status: number | null;
  readonly startedAt: number;
  readonly lastAt: number;
  readonly messages: number;
}

/** How much a capture store keeps. */
export interface CaptureLimits {
  /** A call is forgotten this long after its last message. */
  readonly retentionMs: number;
  /** Calls kept at most (the oldest forgotten first). */
  readonly maxCalls: number;
  /** Messages kept per call at most (the latest). */
  readonly maxMessagesPerCall: number;
}

/**
 * The captured messages of recent calls, shared by the fleet's edges (the call-flow page). Bounded
 * by `CaptureLimits`; for operators, never on the path of a call.
 */
export interface CaptureStore {
  add(
    entries: readonly { message: CapturedSipMessage; facts: CaptureFacts }[],
    limits: CaptureLimits,
    now: number,
  ): Promise<void>;
  /** The `limit` calls with the latest last message, latest first (a summary each). */
  calls(limit: number, now: number): Promise<CapturedCall[]>;
  /** A call's messages in time order; empty when it is not (or no longer) captured. */
  messages(callId: string): Promise<CapturedSipMessage[]>;
}

/** Which edge holds a TCP/TLS/WS flow, refreshed while the connection lives. */
export interface ConnectionDirectory {
  register(flowId: string, edgeId: string, ttlMs: number): Promise<void>;
  lookup(flowId: string): Promise<string | null>;
  /** Removes the entry if it still names `edgeId` (a newer owner is left alone). */
  remove(flowId: string, edgeId: string): Promise<void>;
}

/** Edges that are alive: each heartbeats with a TTL. */
export interface EdgeRegistry {
  heartbeat(edgeId: string, ttlMs: number, now: number): Promise<void>;
  live(now: number): Promise<string[]>;
  remove(edgeId: string): Promise<void>;
}

export type NonceCheck = 'ok' | 'unknown' | 'replay';

/** Digest nonces we issued (RFC 2617, RFC 3261 §22.4): expiry and nonce-count replay protection. */
export interface NonceStore {
  issue(nonce: string, ttlMs: number): Promise<void>;
  /**
   * Uses a nonce: 'unknown' if never issued or expired; with a nonce count, 'replay' unless it is
   * higher than every count used before; with none (no qop), 'ok' while the nonce lives.
   */
  use(nonce: string, nc: number | null): Promise<NonceCheck>;
}

/**
 * The user table of digest authentication: per realm, username → an entry as JSON text (a password
 * or HA1 values; `@sipedge/auth` reads it). Operators write it with `put` or with `redis-cli HSET`
 * on `sipedge:users:{<realm>}`; every worker sees a change at once.
 */
export interface UserTable {
  get(realm: string, username: string): Promise<string | null>;
  /** Adds or replaces an entry; `null` removes it. */
  put(realm: string, username: string, entry: string | null): Promise<void>;
}

/** The fleet-wide abuse state (`AbuseState` of @sipedge/ports, which @sipedge/abuse uses). */
export type AbuseStore = AbuseState;

/** Redis is unreachable (or the store is closed); the operation was not performed. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
