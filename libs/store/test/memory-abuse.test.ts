import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Ban, MemoryAbuseStore } from '../src/index.js';

/** Scales numRuns for a longer soak: `FC_RUNS_SCALE=20`. */
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.FC_RUNS_SCALE ?? 1)));

describe('MemoryAbuseStore bounds', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps at most requestCountersPerWindow sources per window, evicting the least recently counted', async () => {
    const abuse = new MemoryAbuseStore({ requestCountersPerWindow: 3 });
    expect(
      await abuse.addRequests(
        7,
        [
          ['a', 5],
          ['b', 5],
          ['c', 5],
        ],
        60_000,
      ),
    ).toEqual([5, 5, 5]);
    expect(await abuse.addRequests(7, [['a', 1]], 60_000)).toEqual([6]); // a is now the most recent
    expect(await abuse.addRequests(7, [['d', 1]], 60_000)).toEqual([1]); // evicts b
    expect(abuse.sizes().requestCounters).toBe(3);
    // b starts again from 0 (and evicts c); a, still sending, kept its total.
    expect(
      await abuse.addRequests(
        7,
        [
          ['b', 1],
          ['a', 1],
        ],
        60_000,
      ),
    ).toEqual([1, 7]);
    expect(await abuse.addRequests(7, [['c', 1]], 60_000)).toEqual([1]);
    // The cap is per window.
    expect(await abuse.addRequests(8, [['x', 1]], 60_000)).toEqual([1]);
    expect(abuse.sizes()).toMatchObject({ windows: 2, requestCounters: 4 });
  });

  it('bounds a flood of distinct sources', async () => {
    const abuse = new MemoryAbuseStore({ requestCountersPerWindow: 1000 });
    for (let batch = 0; batch < 20; batch++) {
      const counts = Array.from({ length: 500 }, (_, i) => [`10.0.${batch}.${i}`, 1] as const);
      await abuse.addRequests(1, counts, 60_000);
      await abuse.addRequests(1, [['192.0.2.7', 100]], 60_000); // the heavy hitter keeps sending
    }
    expect(abuse.sizes().requestCounters).toBe(1000);
    expect(await abuse.addRequests(1, [['192.0.2.7', 0]], 60_000)).toEqual([2000]);
  });

  it('drops ended windows at the next addition, without reading them again', async () => {
    const abuse = new MemoryAbuseStore();
    await abuse.addRequests(
      1,
      Array.from({ length: 100 }, (_, i) => [`10.0.0.${i}`, 1] as const),
      2000,
    );
    await abuse.addRequests(2, [['10.0.0.1', 1]], 60_000);
    vi.setSystemTime(1_000_000 + 2000);
    await abuse.addRequests(3, [['10.0.0.1', 1]], 60_000);
    expect(abuse.sizes()).toMatchObject({ windows: 2, requestCounters: 2 });
  });

  it('keeps at most failureCounters keys, evicting the one whose window started first', async () => {
    const abuse = new MemoryAbuseStore({ failureCounters: 2 });
    expect(await abuse.countFailures(['k1', 'k2', 'k3'], 60_000)).toEqual([1, 1, 1]); // k3 evicts k1
    expect(abuse.sizes().failureCounters).toBe(2);
    expect(await abuse.countFailures(['k2'], 60_000)).toEqual([2]);
    expect(await abuse.countFailures(['k1'], 60_000)).toEqual([1]); // restarted; evicts k2 (oldest window)
    expect(await abuse.countFailures(['k3', 'k2'], 60_000)).toEqual([2, 1]);
  });

  it('drops ended failure counters on later writes of other keys, even behind longer windows', async () => {
    const abuse = new MemoryAbuseStore();
    await abuse.countFailures(['long'], 60_000);
    await abuse.countFailures(['short-1', 'short-2'], 1000);
    vi.setSystemTime(1_000_000 + 1500);
    await abuse.countFailures(['other'], 1000);
    expect(abuse.sizes().failureCounters).toBe(2); // long, other
    vi.setSystemTime(1_000_000 + 2600);
    await abuse.countFailures(['later'], 1000);
    expect(abuse.sizes().failureCounters).toBe(2); // long, later (other ended at 2500)
  });

  it('at the ban cap, a new address evicts the ban that ends soonest (an ended one first)', async () => {
    const now = Date.now();
    const ban = (address: string, until: number): Ban => ({ address, until, reason: 'test', createdAt: now });
    const abuse = new MemoryAbuseStore({ bans: 2 });
    await abuse.ban(ban('192.0.2.1', now - 1)); // ended, not yet dropped
    await abuse.ban(ban('192.0.2.2', now + 10_000));
    await abuse.ban(ban('192.0.2.3', now + 5_000)); // evicts the ended one
    expect((await abuse.bans(now)).map((b) => b.address)).toEqual(['192.0.2.2', '192.0.2.3']);
    await abuse.ban(ban('192.0.2.4', now + 60_000)); // evicts .3, which ends soonest
    expect((await abuse.bans(now)).map((b) => b.address)).toEqual(['192.0.2.2', '192.0.2.4']);
    await abuse.ban(ban('192.0.2.2', now + 1_000)); // a replacement never evicts
    expect((await abuse.bans(now)).map((b) => [b.address, b.until])).toEqual([
      ['192.0.2.2', now + 1_000],
      ['192.0.2.4', now + 60_000],
    ]);
    expect(await abuse.version()).toBe(5);
    expect(abuse.sizes().bans).toBe(2);
  });

  it('still finds the ban that ends soonest after many replacements', async () => {
    const now = Date.now();
    const ban = (address: string, until: number): Ban => ({ address, until, reason: 'test', createdAt: now });
    const abuse = new MemoryAbuseStore({ bans: 2 });
    for (let i = 0; i < 1000; i++) await abuse.ban(ban('192.0.2.1', now + 1000 + i)); // each longer than the last
    await abuse.ban(ban('192.0.2.2', now + 500));
    await abuse.ban(ban('192.0.2.3', now + 60_000)); // evicts .2, not .1 (whose earlier ends were replaced)
    expect((await abuse.bans(now)).map((b) => [b.address, b.until])).toEqual([
      ['192.0.2.1', now + 1999],
      ['192.0.2.3', now + 60_000],
    ]);
  });

  it('matches a plain model of the capped ban list under any sequence of operations', async () => {
    // Few addresses and a small cap, mostly bans: replacements and evictions happen often.
    const address = fc.integer({ min: 0, max: 3 });
    const op = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({ type: fc.constant('ban' as const), address, ends: fc.integer({ min: -3, max: 12 }) }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('unban' as const), address }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('bans' as const), at: fc.integer({ min: -3, max: 6 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 80 }), async (cap, ops) => {
        const now = Date.now();
        const abuse = new MemoryAbuseStore({ bans: cap });
        const model = new Map<string, number>();
        let version = 0;
        for (const [i, o] of ops.entries()) {
          if (o.type === 'ban') {
            const address = `192.0.2.${o.address}`;
            // Distinct ends, so "the ban that ends soonest" is one ban.
            const until = now + o.ends * 1000 + i;
            if (!model.has(address) && model.size >= cap) {
              const soonest = [...model].reduce((a, b) => (b[1] < a[1] ? b : a));
              model.delete(soonest[0]);
            }
            model.set(address, until);
            version++;
            await abuse.ban({ address, until, reason: `r${i}`, createdAt: now });
          } else if (o.type === 'unban') {
            const address = `192.0.2.${o.address}`;
            const until = model.get(address);
            model.delete(address);
            const current = until !== undefined && until > now;
            if (current) version++;
            expect(await abuse.unban(address)).toBe(current);
          } else {
            const at = now + o.at * 1000;
            for (const [address, until] of model) if (until <= at) model.delete(address);
            const expected = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
            expect((await abuse.bans(at)).map((b) => [b.address, b.until])).toEqual(expected);
          }
          expect(await abuse.version()).toBe(version);
          // Every ban held, ended or not (nothing ends before this): the same as the model's.
          const held = (await abuse.bans(now - 1e9)).map((b) => [b.address, b.until]);
          expect(held).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        }
      }),
      { numRuns: runs(300) },
    );
  });
});
