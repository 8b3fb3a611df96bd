/**
 * The ports that pure libraries use and adapters implement, as types only: a pure library (the
 * registrar, the proxy) depends on this package, not on `@sipedge/store`, which ships ioredis and
 * the telemetry stack; the store implements the same types. Nothing here runs.
 */

/** One registered contact of an address-of-record (RFC 3261 §10.3). */
export interface Binding {
  /** Comparison key of the contact URI (§19.1.4 canonical form, `contactKey`). */
  readonly uriKey: string;
  /** The Contact value to return in a 200 and to route to (name-addr with parameters). */
  readonly contact: string;
  /** Epoch ms at which the binding expires. */
  readonly expiresAt: number;
  readonly callId: string;
  readonly cseq: number;
  /** q-value in [0, 1] (§20.10); 1 when absent. */
  readonly q: number;
  /** Opaque registrar data as JSON text (`encodeBindingData`). */
  readonly data: string;
}

export interface BindingUpdate {
  readonly uriKey: string;
  readonly contact: string;
  /** Seconds; 0 removes the binding. */
  readonly expires: number;
  readonly q: number;
  readonly data: string;
}

export type RegisterOp =
  | {
      readonly type: 'update';
      readonly callId: string;
      readonly cseq: number;
      readonly bindings: readonly BindingUpdate[];
      /**
       * The most bindings the AOR may hold (at least 1): an update that would leave more, and more
       * than it had, fails and changes nothing; refreshing or removing bindings always works.
       */
      readonly maxBindings?: number;
    }
  /** `Contact: *` with `Expires: 0` (§10.3 step 6). */
  | { readonly type: 'remove-all'; readonly callId: string; readonly cseq: number };

export type RegisterResult =
  | { readonly ok: true; readonly bindings: readonly Binding[] }
  /** §10.3 steps 6–7: same Call-ID with a CSeq not higher than stored; nothing was changed. */
  | { readonly ok: false; readonly reason: 'out-of-order'; readonly uriKey: string }
  /** The update would add bindings beyond `maxBindings` (to `count`); nothing was changed. */
  | { readonly ok: false; readonly reason: 'too-many'; readonly count: number };

/**
 * The location service as the registrar and the proxy use it: the store's `LocationStore` (Redis,
 * or the in-memory twin) is one, and adds listing and removing bindings for operators and for
 * contacts that stopped answering.
 */
export interface LocationService {
  /** Applies one REGISTER's changes all or nothing (§10.3 step 7) and returns the bindings now current. */
  register(aor: string, op: RegisterOp, now: number): Promise<RegisterResult>;
  /** The current bindings of an AOR; expired ones are dropped. */
  lookup(aor: string, now: number): Promise<Binding[]>;
}
