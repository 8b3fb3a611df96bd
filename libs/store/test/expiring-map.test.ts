import { describe, expect, it } from 'vitest';
import { ExpiringMap } from '../src/expiring-map.js';

/** A map on a clock the test moves. */
function mapAt(start = 1000): { map: ExpiringMap<number>; advance: (ms: number) => void; now: () => number } {
  let now = start;
  return { map: new ExpiringMap<number>(() => now), advance: (ms) => (now += ms), now: () => now };
}

describe('ExpiringMap (the memory twins’ TTLs)', () => {
  it('returns an entry until its expiry, never after', () => {
    const { map, advance, now } = mapAt();
    map.set('a', 1, now() + 100);
    advance(99);
    expect(map.get('a')).toBe(1);
    advance(1);
    expect(map.get('a')).toBeUndefined();
  });

  it('forgets expired entries nobody reads again, a bounded batch per operation', () => {
    const { map, advance, now } = mapAt();
    for (let i = 0; i < 10_000; i++) map.set(`old-${i}`, i, now() + 1000 + (i % 7));
    map.set('kept', 1, now() + 60_000);
    expect(map.size).toBe(10_001);
    advance(2000);
    // Other keys only: each operation removes at most 100 of the expired entries.
    map.set('fresh-0', 0, now() + 60_000);
    expect(map.size).toBe(10_002 - 100);
    for (let i = 1; i < 100; i++) map.set(`fresh-${i}`, i, now() + 60_000);
    expect(map.size).toBe(101);
    expect(map.get('kept')).toBe(1);
  });

  it('stays at the live entries under a steady churn of new keys', () => {
    const { map, advance, now } = mapAt();
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      map.set(`k-${i}`, i, now() + 100);
      advance(1);
      peak = Math.max(peak, map.size);
    }
    // 100 keys live at any time (one set per ms, 100 ms TTL), plus the one expiring this very ms.
    expect(peak).toBeLessThanOrEqual(101);
  });

  it('moves an entry when it is set again with another expiry (later or sooner)', () => {
    const { map, advance, now } = mapAt();
    map.set('a', 1, now() + 100);
    map.set('b', 2, now() + 200);
    map.set('a', 3, now() + 300); // extended past b
    map.set('b', 4, now() + 50); // shortened
    advance(60);
    expect(map.get('b')).toBeUndefined();
    expect(map.size).toBe(1);
    advance(200);
    expect(map.get('a')).toBe(3);
    advance(40);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('replace keeps the expiry and does not revive an expired entry; delete forgets at once', () => {
    const { map, advance, now } = mapAt();
    map.set('a', 1, now() + 100);
    map.set('b', 2, now() + 100);
    map.replace('a', 5);
    map.replace('missing', 6);
    expect(map.get('missing')).toBeUndefined();
    map.delete('b');
    expect(map.size).toBe(1);
    advance(50);
    expect(map.get('a')).toBe(5);
    advance(50);
    map.replace('a', 7);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('keeps the heap order through random sets and deletes (entries leave in expiry order)', () => {
    const { map, advance, now } = mapAt(0);
    const expiries = new Map<string, number>();
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const key = `k-${random(500)}`;
      if (random(4) === 0) {
        map.delete(key);
        expiries.delete(key);
      } else {
        const at = now() + 1 + random(1000);
        map.set(key, i, at);
        expiries.set(key, at);
      }
    }
    for (let step = 0; step <= 1000; step++) {
      advance(1);
      map.get('probe');
      const live = [...expiries.values()].filter((at) => at > now()).length;
      expect(map.size).toBe(live);
    }
  });
});
