import { banOf, byAddress, checkBan, checkRequests, wholeMs } from './abuse-rules.js';
import type { AbuseStore, Ban, RequestCounts } from './ports.js';

/** Bounds of the in-memory abuse state: an attacker chooses the source addresses and usernames. */
export interface MemoryAbuseLimits {
  /** Request counters (source addresses) kept per window; the least recently counted goes first. Default 100,000. */
  readonly requestCountersPerWindow?: number;
  /** Failure counters kept; the one whose window started first goes first. Default 100,000. */
  readonly failureCounters?: number;
  /** Bans kept; at the cap a new address evicts the ban that ends soonest. Default 100,000. */
  readonly bans?: number;
}

/** How often, at most, a write looks at every failure counter for ended windows. */
const FULL_SWEEP_MS = 1000;

/**
 * In-memory twin of the Redis abuse state, for standalone mode: the same semantics, bounded.
 *
 * - Request counters: per window, at most `requestCountersPerWindow` sources; a counted source
 *   moves to the back, so a flood of new (spoofed) sources evicts the sources that stopped sending,
 *   not one that keeps sending. An evicted source's total starts again from 0. Ended windows are
 *   dropped at every `addRequests`.
 * - Failure counters: at most `failureCounters` keys; the oldest window is evicted first (it is the
 *   one nearest its own restart). Ended counters are dropped by later writes of any key (from the
 *   front at every call, every counter at most once a second), without being read again.
 * - Bans: at most `bans`. At the cap, a ban of a new address evicts the ban that ends soonest (an
 *   ended one first) rather than being refused: a new attack is always refused, and what is lost is
 *   the protection that would lapse first anyway (operators' long bans outlive automatic ones).
 *   Replacing a ban never evicts. An eviction does not move `version` beyond the ban's own bump.
 */
export class MemoryAbuseStore implements AbuseStore {
  private readonly maxRequestCounters: number;
  private readonly maxFailureCounters: number;
  private readonly maxBans: number;
  /** window → its counters (address → total; Map order = least recently counted first). */
  private readonly windows = new Map<number, { readonly expiresAt: number; readonly counts: Map<string, number> }>();
  /** key → count in its window (Map order = window start, oldest first). */
  private readonly failures = new Map<string, { count: number; readonly expiresAt: number }>();
  private nextFullSweep = 0;
  private readonly banned = new Map<string, Ban>();
  /** Every ban's end, soonest first (entries of replaced or lifted bans are skipped when popped). */
  private readonly endings = new EndingHeap();
  private banVersion = 0;

  constructor(limits: MemoryAbuseLimits = {}) {
    this.maxRequestCounters = limit(limits.requestCountersPerWindow, 'requestCountersPerWindow');
    this.maxFailureCounters = limit(limits.failureCounters, 'failureCounters');
    this.maxBans = limit(limits.bans, 'bans');
  }

  async addRequests(window: number, counts: RequestCounts, ttlMs: number): Promise<number[]> {
    const ttl = checkRequests(counts, ttlMs);
    if (counts.length === 0) return [];
    const now = Date.now();
    for (const [w, entry] of this.windows) if (entry.expiresAt <= now) this.windows.delete(w);
    let entry = this.windows.get(window);
    if (entry === undefined) {
      entry = { expiresAt: now + ttl, counts: new Map() };
      this.windows.set(window, entry);
    }
    const counters = entry.counts;
    return counts.map(([address, count]) => {
      const total = (counters.get(address) ?? 0) + count;
      counters.delete(address);
      if (counters.size >= this.maxRequestCounters) counters.delete(counters.keys().next().value!);
      counters.set(address, total);
      return total;
    });
  }

  async countFailures(keys: readonly string[], windowMs: number): Promise<number[]> {
    const window = wholeMs(windowMs, 'windowMs');
    if (keys.length === 0) return [];
    const now = Date.now();
    this.sweepFailures(now);
    return keys.map((key) => {
      const current = this.failures.get(key);
      if (current !== undefined && current.expiresAt > now) return ++current.count;
      this.failures.delete(key);
      if (this.failures.size >= this.maxFailureCounters) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(key, { count: 1, expiresAt: now + window });
      return 1;
    });
  }

  async clearFailures(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.failures.delete(key);
  }

  async ban(ban: Ban): Promise<void> {
    checkBan(ban);
    const b = banOf(ban);
    if (!this.banned.has(b.address) && this.banned.size >= this.maxBans) this.evictSoonest();
    this.banned.set(b.address, b);
    this.endings.push(b.until, b.address);
    this.banVersion++;
    this.compact();
  }

  async unban(address: string): Promise<boolean> {
    const b = this.banned.get(address);
    if (b === undefined) return false;
    this.banned.delete(address);
    this.compact();
    if (b.until <= Date.now()) return false;
    this.banVersion++;
    return true;
  }

  async bans(now: number): Promise<Ban[]> {
    for (let top = this.endings.peek(); top !== undefined && top.until <= now; top = this.endings.peek()) {
      this.endings.pop();
      if (this.banned.get(top.address)?.until === top.until) this.banned.delete(top.address);
    }
    return [...this.banned.values()].filter((b) => b.until > now).sort(byAddress);
  }

  async version(): Promise<number> {
    return this.banVersion;
  }

  /** How much is held, for tests and metrics. */
  sizes(): { windows: number; requestCounters: number; failureCounters: number; bans: number } {
    let requestCounters = 0;
    for (const entry of this.windows.values()) requestCounters += entry.counts.size;
    return { windows: this.windows.size, requestCounters, failureCounters: this.failures.size, bans: this.banned.size };
  }

  clear(): void {
    this.windows.clear();
    this.failures.clear();
    this.banned.clear();
    this.endings.clear();
    this.banVersion = 0;
  }

  /** Drops ended failure counters: from the front at every call, all of them at most once a second. */
  private sweepFailures(now: number): void {
    const full = now >= this.nextFullSweep;
    if (full) this.nextFullSweep = now + FULL_SWEEP_MS;
    for (const [key, entry] of this.failures) {
      if (entry.expiresAt <= now) this.failures.delete(key);
      else if (!full) break;
    }
  }

  /** Removes the ban that ends soonest (skipping heap entries of replaced or lifted bans). */
  private evictSoonest(): void {
    for (let top = this.endings.pop(); top !== undefined; top = this.endings.pop()) {
      if (this.banned.get(top.address)?.until === top.until) {
        this.banned.delete(top.address);
        return;
      }
    }
  }

  /** Rebuilds the heap when stale entries (replaced or lifted bans) outnumber the live ones. */
  private compact(): void {
    if (this.endings.size <= 2 * this.banned.size + 64) return;
    this.endings.clear();
    for (const b of this.banned.values()) this.endings.push(b.until, b.address);
  }
}

function limit(value: number | undefined, name: string): number {
  const n = value ?? 100_000;
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

interface Ending {
  readonly until: number;
  readonly address: string;
}

/** A binary min-heap of ban ends. */
class EndingHeap {
  private readonly items: Ending[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Ending | undefined {
    return this.items[0];
  }

  push(until: number, address: string): void {
    const items = this.items;
    items.push({ until, address });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.until <= items[i]!.until) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  pop(): Ending | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let min = i;
        if (l < items.length && items[l]!.until < items[min]!.until) min = l;
        if (r < items.length && items[r]!.until < items[min]!.until) min = r;
        if (min === i) break;
        [items[min], items[i]] = [items[i]!, items[min]!];
        i = min;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
