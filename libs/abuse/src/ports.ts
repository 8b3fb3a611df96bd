/**
 * What abuse protection needs from the fleet's shared state and bus, restated structurally so that
 * this package depends on no adapter: the store's `AbuseStore` (`@sipedge/store`: Redis, or the
 * in-memory twin standalone) and the `Bus` (`@sipedge/bus`: NATS, or the in-memory twin) are
 * each one of these.
 */

/** A source address refused fleet-wide until `until` (epoch ms). */
export interface Ban {
  readonly address: string;
  readonly until: number;
  /** Why, for operators (e.g. "auth failures: 10 from this source in 600 s"). */
  readonly reason: string;
  readonly createdAt: number;
}

/** The fleet-wide counters and ban list (`AbuseStore` of `@sipedge/store`). */
export interface AbuseState {
  /** Adds counts to one window's fleet-wide request counters; returns each source's total so far. */
  addRequests(window: number, counts: readonly (readonly [string, number])[], ttlMs: number): Promise<number[]>;
  /** One failed authentication under each key; each key's count in its current window. */
  countFailures(keys: readonly string[], windowMs: number): Promise<number[]>;
  clearFailures(keys: readonly string[]): Promise<void>;
  ban(ban: Ban): Promise<void>;
  unban(address: string): Promise<boolean>;
  bans(now: number): Promise<Ban[]>;
  /** Moves whenever a ban is added, replaced or lifted. */
  version(): Promise<number>;
}

/** Publish/subscribe between the fleet's processes (`Bus` of `@sipedge/bus`). */
export interface BanChannel {
  publish(subject: string, data: Uint8Array): Promise<void>;
  subscribe(
    subject: string,
    handler: (message: { readonly data: Uint8Array }) => void,
  ): Promise<{ unsubscribe(): Promise<void> }>;
}

/** The lines abuse protection logs (a pino logger is one). */
export interface AbuseLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
