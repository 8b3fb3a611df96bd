/**
 * The fleet-wide abuse state (pike's request counters, failed-authentication counters, the ban
 * list): @sipedge/abuse uses it, the store implements it (Redis, or the in-memory twin standalone).
 */

/** A source address refused fleet-wide until `until`. */
export interface Ban {
  /** The source IP address as the edge sees it (IPv4 dotted, IPv6 as Node prints it). */
  readonly address: string;
  /** Epoch ms at which the ban ends. */
  readonly until: number;
  /** Why, for operators (e.g. "auth failures: 5 in 600 s", "pike: 5200 requests in 10 s", "admin"). */
  readonly reason: string;
  /** Epoch ms the ban was made. */
  readonly createdAt: number;
}

/** A batch of request counts: each source address with the number of requests it sent. */
export type RequestCounts = readonly (readonly [address: string, count: number])[];

/**
 * Fleet-wide abuse state (like Kamailio's pike and fail2ban): request counters per source and time
 * window, failed-authentication counters, and the ban list with a version that edges poll.
 */
export interface AbuseState {
  /**
   * Adds each source's count to the fleet-wide request counter of one time window (`window`, e.g.
   * floor(now / windowMs)); the window's counters expire `ttlMs` after the first addition. Returns
   * each source's total in that window so far (summed over every edge), in the order given (an
   * address listed twice is added twice, each entry returning the total after its own addition).
   * Counts are non-negative integers (TypeError otherwise). One round trip for the whole batch. An
   * empty batch returns [] without touching Redis.
   */
  addRequests(window: number, counts: RequestCounts, ttlMs: number): Promise<number[]>;
  /**
   * Counts one failed authentication under each key (e.g. "src:192.0.2.7", "user:example.com:alice") and
   * returns each key's count: a key's count restarts at 1 when its previous window of `windowMs` (from its
   * first failure) has ended. Keys are independent (different slots in a Cluster).
   */
  countFailures(keys: readonly string[], windowMs: number): Promise<number[]>;
  /** Clears failure counters (e.g. after a ban is lifted by an operator). */
  clearFailures(keys: readonly string[]): Promise<void>;
  /** Adds or replaces the ban of `ban.address` (atomically with the version bump). */
  ban(ban: Ban): Promise<void>;
  /** Lifts a ban; false when there was none (current: a ban already ended counts as none). */
  unban(address: string): Promise<boolean>;
  /** The bans still in force at `now` (until > now), ordered by address; expired ones are removed. */
  bans(now: number): Promise<Ban[]>;
  /**
   * A counter that increases whenever a ban is added, replaced or lifted (not when an ended ban is
   * dropped): edges poll it cheaply and fetch `bans` only when it moved.
   */
  version(): Promise<number>;
}
