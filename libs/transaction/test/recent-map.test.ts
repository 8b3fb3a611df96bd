import { describe, expect, it } from 'vitest';
import { RecentMap } from '../src/recent-map.js';

describe('RecentMap', () => {
  it('holds at most its limit, and at least the half of it used last', () => {
    const map = new RecentMap<number, string>(8);
    for (let i = 0; i < 100; i++) {
      map.set(i, `v${i}`);
      expect(map.size).toBeLessThanOrEqual(8);
      for (let back = 0; back < 4 && back <= i; back++) expect(map.get(i - back)).toBe(`v${i - back}`);
    }
    expect(map.get(0)).toBeUndefined();
  });

  it('keeps an entry found by get: one in use is never dropped', () => {
    const map = new RecentMap<string, number>(4);
    map.set('used', 1);
    for (let i = 0; i < 50; i++) {
      map.set(`other-${i}`, i);
      expect(map.get('used')).toBe(1);
    }
    expect(map.get('other-0')).toBeUndefined();
  });

  it('a key set again is one entry, with the new value', () => {
    const map = new RecentMap<string, number>(4);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    map.set('a', 4);
    expect(map.get('a')).toBe(4);
    expect(map.size).toBe(3);
  });

  it.each([0, 1, 3, 2.5, Number.NaN])('refuses the limit %s', (limit) => {
    expect(() => new RecentMap(limit)).toThrow(RangeError);
  });
});
