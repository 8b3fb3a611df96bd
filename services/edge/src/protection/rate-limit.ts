import { CidrSet, isIPv4, parseAddress, type IpAddress } from '@sipedge/net';

export interface RateLimiterOptions {
  /** Sustained messages per second allowed from one source (tokens added per second). */
  ratePerSecond: number;
  /** Bucket size: how many messages a source may send at once after being quiet. At least 1. */
  burst: number;
  /** Upper bound on the number of sources tracked at once (the limiter's memory). */
  maxTrackedSources: number;
  /**
   * Sources never limited (and never tracked): CIDR ranges or single addresses, as for the deny
   * list. List here the trunks, peer proxies and load generators that legitimately send at high
   * rates. Invalid entries throw a RangeError naming the entry.
   */
  trusted?: readonly string[];
  /**
   * IPv6 sources are limited per network of this prefix length (default 64). A single IPv6 host
   * usually controls a whole /64 and can pick a new source address per message, which would make
   * per-address limiting useless and let it churn the tracked set; 128 limits per address.
   * IPv4 sources are always limited per address.
   */
  ipv6PrefixLength?: number;
}

/** One source's token bucket. */
interface Bucket {
  tokens: number;
  /** The `now` (epoch ms) the tokens were last brought up to date. */
  updatedAt: number;
}

/** A trusted source (`RateLimiter.#sources`): never limited. */
const TRUSTED = Symbol('trusted');

/** Source addresses whose parse the limiter remembers at most (`RateLimiter.#sources`). */
export const SOURCES_REMEMBERED = 4096;

/**
 * Per-source token bucket rate limiting, applied statelessly at the edge before any shared state
 * is touched. Each source starts with `burst` tokens, every message takes one, and tokens come back
 * at `ratePerSecond` up to `burst`. The limiter is pure with respect to time: callers pass `now`
 * (epoch ms, e.g. the arrival's `receivedAt`) and it runs no timers; a clock that goes backwards
 * refills nothing.
 *
 * A legitimate high-rate source (an SBC or carrier trunk, a peer proxy, a SIPp load generator, a
 * NAT gateway in front of many phones) looks exactly like a flood to a per-source limiter: it must
 * be listed in `trusted`, or the rate and burst set above its peak. Note also that UDP source
 * addresses can be spoofed: a flood forged with a trunk's address would otherwise get the trunk
 * itself limited — another reason to trust trunks explicitly.
 *
 * Memory is bounded by `maxTrackedSources` buckets. When a new source arrives at the bound, the
 * least recently used bucket is evicted. Evicting a full bucket forgets nothing (a new bucket
 * starts full anyway), and the least recently used bucket is the one that has had the longest to
 * refill: once a source has been quiet for `burst / ratePerSecond` seconds its bucket is full. LRU
 * is O(1) (a Map kept in use order), whereas finding the truly fullest bucket needs a scan or an
 * ordering on a quantity that changes with time — O(n) work per new source during a flood of new
 * sources would itself be an amplification. If even the least recently used bucket is not full,
 * more than `maxTrackedSources` sources have been active within one refill period (a spoofed or
 * distributed flood); evicted sources then get a fresh burst when they return, so the limit leaks
 * by at most `burst` messages per eviction — size `maxTrackedSources` above the number of sources
 * expected to be active at once. Sources being limited stay most recently used while they keep
 * sending, so a flooder is never the one evicted.
 */
export class RateLimiter {
  readonly #tokensPerMs: number;
  readonly #burst: number;
  readonly #maxTrackedSources: number;
  readonly #ipv6PrefixLength: number;
  readonly #trusted: CidrSet;
  /** Buckets by source key, least recently used first (Map iteration is insertion order). */
  readonly #buckets = new Map<string, Bucket>();
  /**
   * What each source address seen lately comes to: its bucket key, or TRUSTED. Parsing an address
   * costs microseconds and a source sends many messages; emptied when it reaches
   * `SOURCES_REMEMBERED`, so a flood of new sources costs a parse each, as without it, and the
   * memory it holds stays small beside the buckets'.
   */
  readonly #sources = new Map<string, string | typeof TRUSTED>();

  /** @throws RangeError for an invalid option or trusted entry. */
  constructor(options: RateLimiterOptions) {
    const { ratePerSecond, burst, maxTrackedSources, trusted = [], ipv6PrefixLength = 64 } = options;
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new RangeError(`rate limiter: ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    if (!Number.isFinite(burst) || burst < 1) {
      throw new RangeError(`rate limiter: burst must be at least 1, got ${burst}`);
    }
    if (!Number.isInteger(maxTrackedSources) || maxTrackedSources < 1) {
      throw new RangeError(`rate limiter: maxTrackedSources must be a positive integer, got ${maxTrackedSources}`);
    }
    if (!Number.isInteger(ipv6PrefixLength) || ipv6PrefixLength < 0 || ipv6PrefixLength > 128) {
      throw new RangeError(`rate limiter: ipv6PrefixLength must be an integer 0 to 128, got ${ipv6PrefixLength}`);
    }
    this.#tokensPerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#maxTrackedSources = maxTrackedSources;
    this.#ipv6PrefixLength = ipv6PrefixLength;
    this.#trusted = new CidrSet(trusted, 'rate limiter trusted');
  }

  /** The number of sources currently tracked (never more than `maxTrackedSources`). */
  get trackedSources(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for a message from `address` at time `now` (epoch ms). Returns true when the
   * message may pass, false when it must be dropped. Trusted sources always pass.
   */
  take(address: string, now: number): boolean {
    const key = this.#sources.get(address) ?? this.#source(address);
    if (key === TRUSTED) {
      return true;
    }
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxTrackedSources) {
        const leastRecent = this.#buckets.keys().next();
        if (!leastRecent.done) {
          this.#buckets.delete(leastRecent.value);
        }
      }
      bucket = { tokens: this.#burst, updatedAt: now };
    } else {
      this.#buckets.delete(key); // re-inserted below: now the most recently used
      const elapsed = now - bucket.updatedAt;
      if (elapsed > 0) {
        bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#tokensPerMs);
        bucket.updatedAt = now;
      }
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    return false;
  }

  /** A source address not in `#sources`: trusted, or its bucket key; remembered. */
  #source(address: string): string | typeof TRUSTED {
    const parsed = parseAddress(address);
    const key = parsed === undefined ? address : this.#trusted.contains(parsed) ? TRUSTED : this.#key(parsed);
    if (this.#sources.size >= SOURCES_REMEMBERED) this.#sources.clear();
    this.#sources.set(address, key);
    return key;
  }

  /** The bucket key of a source: the IPv4 address, or the IPv6 network of the configured prefix. */
  #key(address: IpAddress): string {
    if (isIPv4(address)) {
      return address.toString();
    }
    let remaining = this.#ipv6PrefixLength;
    const parts = address.parts.map((part) => {
      const bits = Math.max(0, Math.min(16, remaining));
      remaining -= 16;
      return bits === 0 ? 0 : part & (0xffff << (16 - bits)) & 0xffff;
    });
    return `${parts.map((part) => part.toString(16)).join(':')}/${this.#ipv6PrefixLength}`;
  }
}
