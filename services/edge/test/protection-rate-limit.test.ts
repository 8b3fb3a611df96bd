import { describe, expect, it } from 'vitest';
import { RateLimiter, SOURCES_REMEMBERED } from '../src/protection/rate-limit.js';

const T0 = 1_700_000_000_000;

/** Takes `count` tokens at `now`; returns how many passed. */
function takeMany(limiter: RateLimiter, address: string, count: number, now: number): number {
  let passed = 0;
  for (let i = 0; i < count; i += 1) {
    if (limiter.take(address, now)) {
      passed += 1;
    }
  }
  return passed;
}

describe('RateLimiter', () => {
  it('lets a burst through, then limits', () => {
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 5, maxTrackedSources: 100 });
    expect(takeMany(limiter, '198.51.100.1', 5, T0)).toBe(5);
    expect(limiter.take('198.51.100.1', T0)).toBe(false);
  });

  it('refills at the configured rate over simulated time, up to the burst', () => {
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 5, maxTrackedSources: 100 });
    const source = '198.51.100.1';
    expect(takeMany(limiter, source, 5, T0)).toBe(5);
    expect(limiter.take(source, T0 + 50)).toBe(false); // half a token
    expect(limiter.take(source, T0 + 100)).toBe(true); // one token after 100 ms
    expect(limiter.take(source, T0 + 100)).toBe(false);
    expect(takeMany(limiter, source, 10, T0 + 400)).toBe(3); // 300 ms more: three tokens
    expect(takeMany(limiter, source, 10, T0 + 60_000)).toBe(5); // quiet a minute: capped at the burst
  });

  it('sustains exactly the configured rate', () => {
    const limiter = new RateLimiter({ ratePerSecond: 100, burst: 10, maxTrackedSources: 10 });
    let passed = 0;
    // 1000 messages/s offered for 10 s, one every millisecond
    for (let ms = 0; ms < 10_000; ms += 1) {
      passed += limiter.take('198.51.100.1', T0 + ms) ? 1 : 0;
    }
    expect(passed).toBeGreaterThanOrEqual(1000);
    expect(passed).toBeLessThanOrEqual(1010); // rate × time + burst
  });

  it('grants nothing when the clock goes backwards', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 10 });
    expect(limiter.take('198.51.100.1', T0)).toBe(true);
    expect(limiter.take('198.51.100.1', T0 - 5000)).toBe(false);
    expect(limiter.take('198.51.100.1', T0 + 999)).toBe(false);
    expect(limiter.take('198.51.100.1', T0 + 1000)).toBe(true);
  });

  it('keeps sources apart', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxTrackedSources: 10 });
    expect(takeMany(limiter, '198.51.100.1', 3, T0)).toBe(2);
    expect(takeMany(limiter, '198.51.100.2', 3, T0)).toBe(2);
  });

  it('treats an IPv4-mapped IPv6 source as the IPv4 source', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxTrackedSources: 10 });
    expect(limiter.take('198.51.100.1', T0)).toBe(true);
    expect(limiter.take('::ffff:198.51.100.1', T0)).toBe(true);
    expect(limiter.take('::ffff:c633:6401', T0)).toBe(false);
  });

  it('limits IPv6 sources per /64 by default, per address when asked', () => {
    const per64 = new RateLimiter({ ratePerSecond: 1, burst: 2, maxTrackedSources: 10 });
    expect(per64.take('2001:db8:1:2::1', T0)).toBe(true);
    expect(per64.take('2001:db8:1:2:aaaa:bbbb:cccc:dddd', T0)).toBe(true);
    expect(per64.take('2001:db8:1:2::3', T0)).toBe(false);
    expect(per64.take('2001:db8:1:3::1', T0)).toBe(true); // another /64
    expect(per64.trackedSources).toBe(2);

    const per128 = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 10, ipv6PrefixLength: 128 });
    expect(per128.take('2001:db8:1:2::1', T0)).toBe(true);
    expect(per128.take('2001:db8:1:2::2', T0)).toBe(true);
    expect(per128.take('2001:db8:1:2:0:0:0:1', T0)).toBe(false);

    const per56 = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 10, ipv6PrefixLength: 56 });
    expect(per56.take('2001:db8:1:200::1', T0)).toBe(true);
    expect(per56.take('2001:db8:1:2ff::1', T0)).toBe(false); // same /56
    expect(per56.take('2001:db8:1:300::1', T0)).toBe(true);
  });

  it('never limits nor tracks trusted sources', () => {
    const limiter = new RateLimiter({
      ratePerSecond: 1,
      burst: 1,
      maxTrackedSources: 10,
      trusted: ['203.0.113.0/24', '2001:db8:ffff::/48', '192.0.2.10'],
    });
    expect(takeMany(limiter, '203.0.113.5', 10_000, T0)).toBe(10_000);
    expect(takeMany(limiter, '::ffff:203.0.113.5', 100, T0)).toBe(100);
    expect(takeMany(limiter, '2001:db8:ffff:1::1', 100, T0)).toBe(100);
    expect(takeMany(limiter, '192.0.2.10', 100, T0)).toBe(100);
    expect(limiter.trackedSources).toBe(0);
    expect(takeMany(limiter, '192.0.2.11', 100, T0)).toBe(1);
  });

  it('bounds memory at maxTrackedSources', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 100 });
    for (let i = 0; i < 10_000; i += 1) {
      limiter.take(`10.0.${i >> 8}.${i & 255}`, T0 + i);
      expect(limiter.trackedSources).toBeLessThanOrEqual(100);
    }
    expect(limiter.trackedSources).toBe(100);
  });

  it('evicts the least recently used source, keeping an active flooder limited', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 3 });
    const flooder = '198.51.100.66';
    expect(limiter.take(flooder, T0)).toBe(true);
    expect(limiter.take('10.0.0.1', T0)).toBe(true);
    expect(limiter.take('10.0.0.2', T0)).toBe(true);
    expect(limiter.take(flooder, T0 + 1)).toBe(false); // refused takes refresh recency too
    expect(limiter.take('10.0.0.3', T0 + 2)).toBe(true); // evicts 10.0.0.1, the least recently used
    expect(limiter.take('10.0.0.4', T0 + 3)).toBe(true); // evicts 10.0.0.2
    expect(limiter.take(flooder, T0 + 4)).toBe(false); // still tracked, still empty
    expect(limiter.take('10.0.0.3', T0 + 5)).toBe(false); // still tracked
    expect(limiter.take('10.0.0.1', T0 + 6)).toBe(true); // was evicted: starts with a full bucket
    expect(limiter.trackedSources).toBe(3);
  });

  it('gives the same answers once it has forgotten the sources it parsed (SOURCES_REMEMBERED)', () => {
    const limiter = new RateLimiter({
      ratePerSecond: 1,
      burst: 1,
      maxTrackedSources: 2 * SOURCES_REMEMBERED,
      trusted: ['192.0.2.10'],
    });
    expect(limiter.take('2001:db8::1', T0)).toBe(true);
    expect(limiter.take('192.0.2.10', T0)).toBe(true);
    expect(limiter.take('10.0.0.1', T0)).toBe(true);
    // More new sources than it remembers: the three above are forgotten, their buckets still tracked.
    for (let i = 0; i < SOURCES_REMEMBERED; i++) limiter.take(`10.1.${i >> 8}.${i & 255}`, T0);
    expect(limiter.take('2001:db8::2', T0)).toBe(false);
    expect(takeMany(limiter, '192.0.2.10', 5, T0)).toBe(5);
    expect(takeMany(limiter, '::ffff:10.0.0.1', 5, T0)).toBe(0);
  });

  it('tracks a source that is not an IP address by its text', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedSources: 10 });
    expect(limiter.take('weird', T0)).toBe(true);
    expect(limiter.take('weird', T0)).toBe(false);
  });

  it.each([
    [{ ratePerSecond: 0 }, 'ratePerSecond'],
    [{ ratePerSecond: Number.NaN }, 'ratePerSecond'],
    [{ burst: 0.5 }, 'burst'],
    [{ maxTrackedSources: 0 }, 'maxTrackedSources'],
    [{ maxTrackedSources: 1.5 }, 'maxTrackedSources'],
    [{ ipv6PrefixLength: 129 }, 'ipv6PrefixLength'],
    [{ trusted: ['10.0.0.0/8', 'bogus/8'] }, '"bogus/8"'],
  ])('rejects invalid options %j', (override, message) => {
    const options = { ratePerSecond: 10, burst: 10, maxTrackedSources: 10, ...override };
    expect(() => new RateLimiter(options)).toThrow(RangeError);
    expect(() => new RateLimiter(options)).toThrow(message);
  });
});
