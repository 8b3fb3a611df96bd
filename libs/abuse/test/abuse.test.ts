import { MemoryBusHub } from '@sipedge/bus';
import { CidrSet } from '@sipedge/net';
import { MemoryAbuseStore } from '@sipedge/store';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailures, Bans, Pike, sourceFailureKey, userFailureKey } from '../src/index.js';

const silent = { info: () => undefined, warn: () => undefined };
const TRUSTED = new CidrSet(['10.0.0.0/8'], 'test');
const exempt = (address: string) => TRUSTED.has(address);
const SETTINGS = { durationMs: 60_000, syncMs: 60_000 };
/** Lets the bus deliver what was published (the memory bus, like NATS, delivers after publish resolves). */
const delivered = () => new Promise((resolve) => setImmediate(resolve));

/** The ban lists a test started, stopped after it. */
const started: Bans[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((bans) => bans.stop()));
});

/** A started ban list on `state` and `bus`, stopped after the test. */
async function startBans(state: MemoryAbuseStore, bus = new MemoryBusHub().connect()): Promise<Bans> {
  const bans = new Bans(state, bus, exempt, SETTINGS, silent);
  await bans.start();
  started.push(bans);
  return bans;
}

/** Two processes of one fleet (e.g. two edges), `a` and `b`: one shared state, one bus. */
async function fleet(state = new MemoryAbuseStore()) {
  const hub = new MemoryBusHub();
  return { state, a: await startBans(state, hub.connect()), b: await startBans(state, hub.connect()) };
}

describe('bans', () => {
  it('a ban holds in every process of the fleet once announced, and ends on time', async () => {
    const { state, a, b } = await fleet();
    const now = Date.now();
    const ban = await a.ban('192.0.2.7', 'test', now);
    await delivered();
    expect(ban).toEqual({ address: '192.0.2.7', until: now + 60_000, reason: 'test', createdAt: now });
    expect([a.isBanned('192.0.2.7', now), b.isBanned('192.0.2.7', now)]).toEqual([true, true]);
    // A dual-stack socket reports an IPv4 peer as IPv4-mapped IPv6.
    expect(b.isBanned('::ffff:192.0.2.7', now)).toBe(true);
    expect(b.isBanned('192.0.2.8', now)).toBe(false);
    expect(b.isBanned('192.0.2.7', now + 60_000)).toBe(false);
    expect(await state.bans(now)).toEqual([ban]);
  });

  it('never bans an exempt (trusted) source, nor something that is not an address', async () => {
    const { state, a } = await fleet();
    expect(await a.ban('10.1.2.3', 'test', Date.now())).toBeUndefined();
    expect(await a.ban('not-an-address', 'test', Date.now())).toBeUndefined();
    expect(a.isBanned('10.1.2.3', Date.now())).toBe(false);
    expect(await state.bans(Date.now())).toEqual([]);
  });

  it('a lift holds everywhere and forgets the source’s failed authentications', async () => {
    const { state, a, b } = await fleet();
    await state.countFailures([sourceFailureKey('2001:db8::7')], 60_000);
    await a.ban('2001:0db8:0:0::7', 'test', Date.now());
    await delivered();
    expect(b.isBanned('2001:db8::7', Date.now())).toBe(true);
    expect(await b.lift('2001:db8::7')).toBe(true);
    await delivered();
    expect([a.isBanned('2001:db8::7', Date.now()), b.isBanned('2001:db8::7', Date.now())]).toEqual([false, false]);
    expect(await state.countFailures([sourceFailureKey('2001:db8::7')], 60_000)).toEqual([1]);
    expect(await b.lift('2001:db8::7')).toBe(false);
  });

  it('a process that missed the announcement catches up at its next sync', async () => {
    const state = new MemoryAbuseStore();
    const late = await startBans(state);
    const now = Date.now();
    await state.ban({ address: '198.51.100.9', until: now + 5000, reason: 'elsewhere', createdAt: now });
    expect(late.isBanned('198.51.100.9', now)).toBe(false);
    await late.sync(now);
    expect(late.isBanned('198.51.100.9', now)).toBe(true);
    await state.unban('198.51.100.9');
    await late.sync(now);
    expect(late.isBanned('198.51.100.9', now)).toBe(false);
  });
});

describe('pike: flood detection across the fleet', () => {
  it('bans a source whose requests summed over two edges reach the threshold in a window', async () => {
    const { state, a, b } = await fleet();
    const settings = { requests: 100, windowMs: 60_000 };
    const edges = [new Pike(state, a, settings, silent), new Pike(state, b, settings, silent)];
    const now = 1_000_000 * 60_000; // the start of a window
    for (const edge of edges) for (let i = 0; i < 45; i++) edge.count('192.0.2.50');
    for (const edge of edges) await edge.report(now);
    expect(a.isBanned('192.0.2.50', now)).toBe(false); // 90 so far
    for (const edge of edges) for (let i = 0; i < 5; i++) edge.count('192.0.2.50');
    for (const edge of edges) await edge.report(now + 1000);
    await delivered();
    expect([a.isBanned('192.0.2.50', now), b.isBanned('192.0.2.50', now)]).toEqual([true, true]);
    expect((await state.bans(now))[0]?.reason).toBe('pike: 100 requests in 60 s');
  });

  it('catches a flood that a fixed window boundary cuts in two (windows overlap by half)', async () => {
    const { state, a } = await fleet();
    const pike = new Pike(state, a, { requests: 100, windowMs: 60_000 }, silent);
    const boundary = 1_000_000 * 60_000;
    for (let i = 0; i < 60; i++) pike.count('192.0.2.55');
    await pike.report(boundary - 1000);
    expect(a.isBanned('192.0.2.55', boundary)).toBe(false);
    for (let i = 0; i < 60; i++) pike.count('192.0.2.55');
    await pike.report(boundary + 1000);
    expect(a.isBanned('192.0.2.55', boundary + 1000)).toBe(true);
    expect((await state.bans(boundary))[0]?.reason).toBe('pike: 120 requests in 60 s');
  });

  it('a new window starts from zero; trusted sources and quiet ones are never banned', async () => {
    const { state, a } = await fleet();
    const pike = new Pike(state, a, { requests: 100, windowMs: 1000 }, silent);
    for (let i = 0; i < 99; i++) pike.count('192.0.2.60');
    await pike.report(5000);
    for (let i = 0; i < 99; i++) pike.count('192.0.2.60');
    await pike.report(6000);
    for (let i = 0; i < 500; i++) pike.count('10.0.0.1');
    await pike.report(7000);
    expect(await state.bans(0)).toEqual([]);
  });

  it('tracks a bounded number of sources per period', async () => {
    const { state, a } = await fleet();
    const pike = new Pike(state, a, { requests: 100, windowMs: 1000, maxTrackedSources: 10 }, silent);
    for (let i = 0; i < 50; i++) pike.count(`192.0.2.${i}`);
    expect(pike.trackedSources).toBe(10);
    await pike.report(Date.now());
    expect(pike.trackedSources).toBe(0);
  });

  it('is off with requests 0', async () => {
    const { state, a } = await fleet();
    const pike = new Pike(state, a, { requests: 0, windowMs: 1000 }, silent);
    pike.count('192.0.2.1');
    expect(pike.trackedSources).toBe(0);
  });
});

describe('failed authentications (fail2ban)', () => {
  it('bans a source at its Nth failure within the window, on every process', async () => {
    const { state, a, b } = await fleet();
    const failures = new AuthFailures(state, a, { perSource: 3, perUser: 0, windowMs: 60_000 }, silent);
    const now = Date.now();
    expect(await failures.failed('192.0.2.70', 'example.com', 'alice', now)).toBe(false);
    expect(await failures.failed('192.0.2.70', 'example.com', 'bob', now)).toBe(false);
    expect(b.isBanned('192.0.2.70', now)).toBe(false);
    expect(await failures.failed('192.0.2.70', 'example.com', undefined, now)).toBe(true);
    await delivered();
    expect(b.isBanned('192.0.2.70', now)).toBe(true);
    expect((await state.bans(now))[0]?.reason).toBe('auth failures: 3 from this source in 60 s');
  });

  it('a user guessed at from many sources: each source failing once the user’s count is reached is banned', async () => {
    const { state, a } = await fleet();
    const failures = new AuthFailures(state, a, { perSource: 100, perUser: 3, windowMs: 60_000 }, silent);
    const now = Date.now();
    const banned = [];
    for (const source of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) {
      banned.push(await failures.failed(source, 'example.com', 'alice', now));
    }
    expect(banned).toEqual([false, false, true, true]);
    expect(await failures.failed('192.0.2.5', 'example.com', 'bob', now)).toBe(false);
  });

  it('never bans a trusted source', async () => {
    const { state, a } = await fleet();
    const failures = new AuthFailures(state, a, { perSource: 1, perUser: 1, windowMs: 60_000 }, silent);
    expect(await failures.failed('10.9.9.9', 'example.com', 'alice', Date.now())).toBe(false);
    expect(await state.bans(Date.now())).toEqual([]);
  });

  it('keeps keys short for long usernames', () => {
    expect(userFailureKey('example.com', 'alice')).toBe('user:example.com:alice');
    expect(userFailureKey('example.com', 'x'.repeat(10_000)).length).toBeLessThan(80);
  });
});
