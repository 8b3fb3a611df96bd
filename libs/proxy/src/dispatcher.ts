import { createHash } from 'node:crypto';
import { parseUri } from '@sipedge/sip';

/**
 * Dispatcher sets: named pools of next hops (trunks, gateways, application servers) a static route
 * can point at (`StaticRoute.to = { dispatcher }`). The chosen hop becomes the forced next hop of
 * the target (RFC 3261 §16.5 last example, §16.6 step 6: pushed as the top Route by `withRoute`);
 * the Request-URI is not changed.
 *
 * Everything here is a pure function of its inputs, so that any worker of the fleet makes the same
 * choice: the round-robin position is a counter the caller keeps (a Redis INCR, or a local one),
 * the health of the hops is a JSON record the caller keeps and feeds from OPTIONS probing and from
 * failed attempts, and the clock is `now`.
 *
 * - `round-robin`: smooth weighted round robin (each hop `weight` times per cycle of the summed
 *   weights, interleaved: weights 2:1 give A B A, not A A B). Position = counter modulo the cycle.
 *   A hop that is down is skipped to the next position of the cycle, so its share goes to the hops
 *   that follow it in the interleaved cycle.
 * - `hash`: weighted rendezvous (highest-random-weight) hashing of the Call-ID: the same Call-ID
 *   gets the same hop while it is up; when it is down, the Call-IDs it had (and only those) move to
 *   their second-best hop, and come back when it is up again.
 * - Weight 0: a backup hop, never chosen first, tried by `failover` after every weighted hop.
 * - `failover`: after a 503, a timeout or a transport error of one hop, the next one to try: up
 *   hops not tried yet, weighted ones before backups, each group by the rendezvous order of the
 *   Call-ID (so the failed hop's calls spread over the others instead of piling onto one). None
 *   left: undefined, and the proxy answers with the best response it has (§16.7 step 6).
 */

export type DispatcherAlgorithm = 'round-robin' | 'hash';

export interface DispatcherHop {
  /** A SIP/SIPS URI (the Route pushed for it gets `lr`); hops are identified by this exact text. */
  readonly uri: string;
  /** Relative share, an integer 0–1000; 0 = backup only. Default 1. */
  readonly weight?: number;
}

export interface DispatcherSet {
  readonly name: string;
  readonly algorithm: DispatcherAlgorithm;
  readonly hops: readonly DispatcherHop[];
}

/**
 * Which hops are down and until when: hop URI → epoch ms. A JSON record (it may live in Redis),
 * shared by every set that names the hop. A hop is up again at `until` even without a successful
 * probe, so a failure seen in live traffic (no prober involved) only holds it down for a while.
 */
export interface DispatcherHealth {
  readonly down: Readonly<Record<string, number>>;
}

export const EMPTY_HEALTH: DispatcherHealth = { down: {} };

/** How long a failed hop stays down unless a probe succeeds first. */
export const DEFAULT_HOLD_DOWN_MS = 30_000;

export const MAX_WEIGHT = 1000;

export interface SelectOptions {
  /** The caller's round-robin counter (any integer; incremented once per selection). */
  readonly counter: number;
  /** The request's Call-ID (`hash`). */
  readonly callId: string;
  readonly health?: DispatcherHealth;
  /** Epoch ms. */
  readonly now: number;
}

/** Whether a hop may be used at `now`. */
export function isHopUp(health: DispatcherHealth | undefined, uri: string, now: number): boolean {
  const until = health?.down[uri];
  return until === undefined || until <= now;
}

/**
 * The health after one observation of `uri` (an OPTIONS probe, or the outcome of an attempt): ok
 * brings it up at once; a failure holds it down until `now + holdDownMs` (a later failure extends
 * that). Expired entries are dropped. Returns a new record; the input is not modified.
 */
export function updateHealth(
  health: DispatcherHealth,
  uri: string,
  ok: boolean,
  now: number,
  holdDownMs = DEFAULT_HOLD_DOWN_MS,
): DispatcherHealth {
  const down: Record<string, number> = {};
  for (const [u, until] of Object.entries(health.down)) if (until > now && u !== uri) down[u] = until;
  if (!ok) down[uri] = Math.max(now + holdDownMs, health.down[uri] ?? 0);
  return { down };
}

/** The first hop for a new request, or undefined when every hop is down (or the set has only backups). */
export function selectHop(set: DispatcherSet, options: SelectOptions): string | undefined {
  const up = (h: DispatcherHop) => isHopUp(options.health, h.uri, options.now);
  if (set.algorithm === 'hash')
    return rendezvous(
      set.hops.filter((h) => weightOf(h) > 0 && up(h)),
      options.callId,
    )[0];
  const cycle = schedule(set.hops);
  if (cycle.length === 0) return undefined;
  const start = mod(options.counter, cycle.length);
  for (let i = 0; i < cycle.length; i++) {
    const hop = set.hops[cycle[(start + i) % cycle.length]!]!;
    if (up(hop)) return hop.uri;
  }
  return undefined;
}

/**
 * The hop to try after those in `tried` failed (503, timeout, transport error), or undefined when
 * none is left: up hops not tried yet, weighted ones first, then backups, each group in the
 * rendezvous order of `callId`. Never returns a hop of `tried`.
 */
export function failover(
  set: DispatcherSet,
  tried: readonly string[],
  callId: string,
  health: DispatcherHealth | undefined,
  now: number,
): string | undefined {
  const left = set.hops.filter((h) => !tried.includes(h.uri) && isHopUp(health, h.uri, now));
  return (
    rendezvous(
      left.filter((h) => weightOf(h) > 0),
      callId,
    )[0] ??
    rendezvous(
      left.filter((h) => weightOf(h) === 0),
      callId,
    )[0]
  );
}

/**
 * Every hop of the set a request may try, in order: `selectHop`'s choice, then each `failover` hop
 * after the ones before it failed. Empty when no hop is up. The proxy resolves them all up front, so
 * a failed attempt moves to the next one like to the next tuple of a target (§16.6 step 7).
 */
export function dispatchOrder(set: DispatcherSet, options: SelectOptions): string[] {
  const first = selectHop(set, options);
  if (first === undefined) return [];
  const order = [first];
  for (let next = failover(set, order, options.callId, options.health, options.now); next !== undefined;) {
    order.push(next);
    next = failover(set, order, options.callId, options.health, options.now);
  }
  return order;
}

/** Checks a set at start-up: a TypeError naming what is wrong. */
export function validateDispatcherSet(set: DispatcherSet): void {
  if (set.name === '') throw new TypeError('dispatcher set without a name');
  if (set.algorithm !== 'round-robin' && set.algorithm !== 'hash') {
    throw new TypeError(`dispatcher set ${set.name}: unknown algorithm "${String(set.algorithm)}"`);
  }
  if (set.hops.length === 0) throw new TypeError(`dispatcher set ${set.name}: no hops`);
  const seen = new Set<string>();
  for (const h of set.hops) {
    let kind: string;
    try {
      kind = parseUri(h.uri).kind;
    } catch {
      kind = 'invalid';
    }
    if (kind !== 'sip') throw new TypeError(`dispatcher set ${set.name}: "${h.uri}" is not a SIP or SIPS URI`);
    if (seen.has(h.uri)) throw new TypeError(`dispatcher set ${set.name}: "${h.uri}" listed twice`);
    seen.add(h.uri);
    weightOf(h);
  }
}

function weightOf(hop: DispatcherHop): number {
  const w = hop.weight ?? 1;
  if (!Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) {
    throw new RangeError(`dispatcher hop ${hop.uri}: weight ${w} is not an integer 0–${MAX_WEIGHT}`);
  }
  return w;
}

function mod(n: number, m: number): number {
  return ((Math.trunc(n) % m) + m) % m;
}

const schedules = new WeakMap<readonly DispatcherHop[], readonly number[]>();

/**
 * One cycle of smooth weighted round robin (as nginx does it) over the hop indexes: length = the
 * sum of the weights divided by their greatest common divisor. Memoised per hops array.
 */
function schedule(hops: readonly DispatcherHop[]): readonly number[] {
  const known = schedules.get(hops);
  if (known !== undefined) return known;
  const weights = hops.map(weightOf);
  const g = weights.reduce((a, b) => gcd(a, b), 0);
  const w = g === 0 ? weights : weights.map((x) => x / g);
  const total = w.reduce((a, b) => a + b, 0);
  const current = w.map(() => 0);
  const cycle: number[] = [];
  for (let step = 0; step < total; step++) {
    let best = -1;
    for (let i = 0; i < w.length; i++) {
      current[i]! += w[i]!;
      if (w[i]! > 0 && (best < 0 || current[i]! > current[best]!)) best = i;
    }
    current[best]! -= total;
    cycle.push(best);
  }
  schedules.set(hops, cycle);
  return cycle;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Weighted rendezvous hashing: each hop scores `-weight / ln(u)`, u uniform in (0, 1) from
 * SHA-256(callId, uri); highest score first (ties by URI). Weight 0 hops score as weight 1 (backups
 * are ordered among themselves). Returns the URIs.
 */
function rendezvous(hops: readonly DispatcherHop[], callId: string): string[] {
  return hops
    .map((h) => ({ uri: h.uri, score: -Math.max(weightOf(h), 1) / Math.log(unit(callId, h.uri)) }))
    .sort((a, b) => b.score - a.score || (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0))
    .map((s) => s.uri);
}

/** A number in (0, 1) from the hash of the pair: 52 bits, offset by half a step so never 0 or 1. */
function unit(callId: string, uri: string): number {
  const digest = createHash('sha256').update(callId).update('\0').update(uri).digest();
  const high = digest.readUIntBE(0, 6) / 2 ** 48; // 48 bits
  const low = (digest[6]! & 0x0f) / 2 ** 52; // 4 more
  return high + low + 2 ** -53;
}
