import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HOLD_DOWN_MS,
  type DispatcherHealth,
  type DispatcherSet,
  EMPTY_HEALTH,
  dispatchOrder,
  failover,
  isHopUp,
  selectHop,
  updateHealth,
  validateDispatcherSet,
} from '../src/index.js';

const NOW = 1_000_000;
const A = 'sip:a.gw.example.net';
const B = 'sip:b.gw.example.net';
const C = 'sip:c.gw.example.net:5080;transport=tcp';
const BACKUP = 'sip:backup.gw.example.net';

/** A dispatcher set of `hops`, each a URI with its weight (none: the default weight). */
function dispatcherSet(
  name: string,
  algorithm: DispatcherSet['algorithm'],
  hops: [uri: string, weight?: number][],
): DispatcherSet {
  return { name, algorithm, hops: hops.map(([uri, weight]) => (weight === undefined ? { uri } : { uri, weight })) };
}

const rr = dispatcherSet('gw', 'round-robin', [
  [A, 3],
  [B, 1],
]);
const hashed = dispatcherSet('gw', 'hash', [
  [A, 2],
  [B, 1],
  [C, 1],
  [BACKUP, 0],
]);

const down = (...uris: string[]): DispatcherHealth =>
  uris.reduce((h, u) => updateHealth(h, u, false, NOW), EMPTY_HEALTH);

function count(picks: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1;
  return out;
}

describe('dispatcher: round robin', () => {
  it('distributes by weight, deterministically from the counter', () => {
    const picks = Array.from({ length: 400 }, (_, counter) => selectHop(rr, { counter, callId: 'x', now: NOW }));
    expect(count(picks)).toEqual({ [A]: 300, [B]: 100 });
    // Same counter, same hop: a pure function.
    expect(selectHop(rr, { counter: 7, callId: 'y', now: NOW })).toBe(picks[7]);
  });

  it('interleaves (smooth weighted round robin) and cycles over the reduced weights', () => {
    const set = dispatcherSet('s', 'round-robin', [
      [A, 4],
      [B, 2],
    ]);
    const seq = Array.from({ length: 6 }, (_, counter) => selectHop(set, { counter, callId: '', now: NOW }));
    expect(seq).toEqual([A, B, A, A, B, A]);
    // Negative and huge counters wrap around.
    expect(selectHop(set, { counter: -1, callId: '', now: NOW })).toBe(A);
    expect(selectHop(set, { counter: 3 * 1e12 + 1, callId: '', now: NOW })).toBe(B);
    // Equal default weights alternate.
    const plain = dispatcherSet('p', 'round-robin', [[A], [B], [C]]);
    expect(Array.from({ length: 4 }, (_, counter) => selectHop(plain, { counter, callId: '', now: NOW }))).toEqual([
      A,
      B,
      C,
      A,
    ]);
  });

  it('skips hops that are down until their hold-down ends', () => {
    const health = down(A);
    const during = Array.from({ length: 8 }, (_, counter) =>
      selectHop(rr, { counter, callId: '', health, now: NOW + 1 }),
    );
    expect(new Set(during)).toEqual(new Set([B]));
    const after = selectHop(rr, { counter: 0, callId: '', health, now: NOW + DEFAULT_HOLD_DOWN_MS });
    expect(after).toBe(A);
  });

  it('never chooses a backup (weight 0) first; all down → none', () => {
    const set = dispatcherSet('s', 'round-robin', [[A], [BACKUP, 0]]);
    const picks = Array.from({ length: 5 }, (_, counter) => selectHop(set, { counter, callId: '', now: NOW }));
    expect(new Set(picks)).toEqual(new Set([A]));
    expect(selectHop(set, { counter: 0, callId: '', health: down(A), now: NOW })).toBeUndefined();
    expect(selectHop(rr, { counter: 0, callId: '', health: down(A, B), now: NOW })).toBeUndefined();
  });
});

describe('dispatcher: hash by Call-ID', () => {
  const callIds = Array.from({ length: 4000 }, (_, i) => `${i.toString(36)}-a84b4c76e66710@pc33.example.com`);

  it('is stable: the same Call-ID always gets the same hop', () => {
    for (const callId of callIds.slice(0, 50)) {
      const first = selectHop(hashed, { counter: 0, callId, now: NOW });
      expect(selectHop(hashed, { counter: 99, callId, now: NOW + 5 })).toBe(first);
      // Independent of the order in which the hops are listed.
      const reversed = { ...hashed, hops: [...hashed.hops].reverse() };
      expect(selectHop(reversed, { counter: 0, callId, now: NOW })).toBe(first);
    }
  });

  it('spreads Call-IDs by weight and never to a backup', () => {
    const c = count(callIds.map((callId) => selectHop(hashed, { counter: 0, callId, now: NOW })));
    expect(Object.keys(c).sort()).toEqual([A, B, C].sort());
    expect(c[A]! / callIds.length).toBeGreaterThan(0.45);
    expect(c[A]! / callIds.length).toBeLessThan(0.55);
    expect(c[B]! / callIds.length).toBeGreaterThan(0.2);
    expect(c[C]! / callIds.length).toBeGreaterThan(0.2);
  });

  it('is consistent when a hop is down: only its Call-IDs move, each to its failover hop', () => {
    const health = down(B);
    let moved = 0;
    for (const callId of callIds) {
      const before = selectHop(hashed, { counter: 0, callId, now: NOW });
      const after = selectHop(hashed, { counter: 0, callId, health, now: NOW });
      if (before === B) {
        moved++;
        expect(after).not.toBe(B);
        expect(after).toBe(failover(hashed, [B], callId, undefined, NOW));
      } else {
        expect(after).toBe(before);
      }
    }
    expect(moved).toBeGreaterThan(0);
    // The moved calls spread over both remaining weighted hops, not onto one.
    const targets = count(
      callIds
        .filter((callId) => selectHop(hashed, { counter: 0, callId, now: NOW }) === B)
        .map((callId) => selectHop(hashed, { counter: 0, callId, health, now: NOW })),
    );
    expect(Object.keys(targets).sort()).toEqual([A, C].sort());
  });

  it('all weighted hops down → none (backups only in failover)', () => {
    expect(selectHop(hashed, { counter: 0, callId: 'c', health: down(A, B, C), now: NOW })).toBeUndefined();
  });
});

describe('dispatcher: failover', () => {
  it('tries every up hop once, weighted before backup, then none', () => {
    for (const callId of ['c1', 'c2', 'c3', 'c4']) {
      const first = selectHop(hashed, { counter: 0, callId, now: NOW })!;
      const tried = [first];
      for (let next = failover(hashed, tried, callId, undefined, NOW); next;) {
        tried.push(next);
        next = failover(hashed, tried, callId, undefined, NOW);
      }
      expect(new Set(tried).size).toBe(tried.length); // no repeats
      expect([...tried].sort()).toEqual([A, B, C, BACKUP].sort());
      expect(tried[3]).toBe(BACKUP);
    }
  });

  it('is deterministic for a Call-ID and works for round-robin sets too', () => {
    expect(failover(rr, [A], 'c1', undefined, NOW)).toBe(B);
    expect(failover(rr, [B], 'c1', undefined, NOW)).toBe(A);
    expect(failover(rr, [A, B], 'c1', undefined, NOW)).toBeUndefined();
    const once = failover(hashed, [A], 'call-7', undefined, NOW);
    expect(failover(hashed, [A], 'call-7', undefined, NOW)).toBe(once);
  });

  it('skips hops that are down; all down → none', () => {
    expect(failover(hashed, [A], 'c', down(B, C), NOW)).toBe(BACKUP);
    expect(failover(hashed, [A], 'c', down(B, C, BACKUP), NOW)).toBeUndefined();
    expect(failover(hashed, [], 'c', down(A, B, C, BACKUP), NOW)).toBeUndefined();
    // The hold-down ends by itself.
    expect(failover(hashed, [A, C, BACKUP], 'c', down(B), NOW + DEFAULT_HOLD_DOWN_MS)).toBe(B);
  });
});

describe('dispatcher: dispatch order', () => {
  it('starts with the selected hop and then follows failover, each up hop once', () => {
    const order = dispatchOrder(hashed, { counter: 0, callId: 'c9', now: NOW });
    expect(order[0]).toBe(selectHop(hashed, { counter: 0, callId: 'c9', now: NOW }));
    expect(order[1]).toBe(failover(hashed, [order[0]!], 'c9', undefined, NOW));
    expect([...order].sort()).toEqual([A, B, C, BACKUP].sort());
    expect(order.at(-1)).toBe(BACKUP);
    for (let counter = 0; counter < 4; counter++) {
      const first = selectHop(rr, { counter, callId: 'c', now: NOW });
      expect(dispatchOrder(rr, { counter, callId: 'c', now: NOW })).toEqual([first, first === A ? B : A]);
    }
  });

  it('leaves out hops that are down; none up → empty', () => {
    expect(dispatchOrder(hashed, { counter: 0, callId: 'c', now: NOW, health: down(A, C) })).toEqual([B, BACKUP]);
    expect(dispatchOrder(rr, { counter: 0, callId: 'c', now: NOW, health: down(A, B) })).toEqual([]);
  });
});

describe('dispatcher: health', () => {
  it('holds a failed hop down, extends on a new failure, brings it up on success', () => {
    let h = updateHealth(EMPTY_HEALTH, A, false, NOW, 10_000);
    expect(h).toEqual({ down: { [A]: NOW + 10_000 } });
    expect(isHopUp(h, A, NOW + 9_999)).toBe(false);
    expect(isHopUp(h, A, NOW + 10_000)).toBe(true);
    expect(isHopUp(h, B, NOW)).toBe(true);
    h = updateHealth(h, A, false, NOW + 5_000, 10_000);
    expect(h.down[A]).toBe(NOW + 15_000);
    // A shorter hold-down does not shorten an existing one.
    expect(updateHealth(h, A, false, NOW + 5_000, 1_000).down[A]).toBe(NOW + 15_000);
    const up = updateHealth(h, A, true, NOW + 6_000);
    expect(up).toEqual({ down: {} });
    expect(h.down[A]).toBe(NOW + 15_000); // inputs are not modified
  });

  it('drops expired entries and round-trips through JSON', () => {
    const h = updateHealth(updateHealth(EMPTY_HEALTH, A, false, NOW, 1_000), B, false, NOW + 2_000, 1_000);
    expect(h).toEqual({ down: { [B]: NOW + 3_000 } });
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
  });
});

describe('dispatcher: validation', () => {
  it('accepts good sets and names what is wrong in bad ones', () => {
    expect(() => validateDispatcherSet(hashed)).not.toThrow();
    expect(() => validateDispatcherSet({ ...rr, hops: [] })).toThrow(/no hops/);
    expect(() => validateDispatcherSet({ ...rr, hops: [{ uri: 'tel:+1555' }] })).toThrow(/not a SIP/);
    expect(() => validateDispatcherSet({ ...rr, hops: [{ uri: A }, { uri: A }] })).toThrow(/twice/);
    expect(() => validateDispatcherSet({ ...rr, hops: [{ uri: A, weight: 1.5 }] })).toThrow(/weight/);
    expect(() => validateDispatcherSet({ ...rr, hops: [{ uri: A, weight: 1001 }] })).toThrow(/weight/);
    expect(() => validateDispatcherSet({ ...rr, algorithm: 'random' as never })).toThrow(/algorithm/);
  });
});
