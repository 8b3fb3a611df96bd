/**
 * The location service as the registrar (and, through `lookupTargets`, the proxy) uses it: the
 * `LocationStore` port of `@sipedge/store` (`RedisLocationStore`, `MemoryLocationStore`) and its
 * value types, restated structurally so that this package depends on no adapter (the store ships
 * ioredis and the telemetry stack). Any `LocationStore` of `@sipedge/store` is one of these; the
 * types below must stay the same as the store's (`libs/store/src/ports.ts`), which the services'
 * typecheck verifies where they pass the store's implementations in.
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
 * The part of the location service this package uses (the store's `LocationStore` also lists and
 * removes bindings, for operators and for contacts that stopped answering).
 */
export interface LocationStore {
  /** Applies one REGISTER's changes all or nothing (§10.3 step 7) and returns the bindings now current. */
  register(aor: string, op: RegisterOp, now: number): Promise<RegisterResult>;
  /** The current bindings of an AOR; expired ones are dropped. */
  lookup(aor: string, now: number): Promise<Binding[]>;
}
