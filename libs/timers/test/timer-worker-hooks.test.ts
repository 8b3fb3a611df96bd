import { haveRedisServer, startRedisServer, type ThrowawayRedis } from '@sipedge/redis/testing';
import { createLogger } from '@sipedge/telemetry';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TimerWorker, createBullmqTimers, type BullmqTimers } from '../src/bullmq-timers.js';
import type { TimerFire } from '../src/index.js';

// TimerWorker overrides two protected hooks of BullMQ's Worker (no public API, so no semver
// promise). This file pins what it relies on, so that a BullMQ upgrade that renames them, changes
// their arguments or units, or stops calling them from the fetch loop fails here rather than
// silently bringing back 0–100 ms late fires.

const silent = createLogger({ name: 'timer-worker-hooks', level: 'silent' });

type Hook = (...args: unknown[]) => unknown;
const hooksOf = (prototype: object) => prototype as Record<'getBlockTimeout' | 'moveToActive', Hook>;

describe("BullMQ Worker's protected hooks that TimerWorker overrides", () => {
  it('exist on Worker.prototype with the parameters TimerWorker passes on', () => {
    const worker = hooksOf(Worker.prototype);
    expect(typeof worker.getBlockTimeout).toBe('function');
    expect(worker.getBlockTimeout.length).toBe(1); // (blockUntil)
    expect(typeof worker.moveToActive).toBe('function');
    expect(worker.moveToActive.length).toBe(3); // (client, token, name)
  });

  it('are the only members TimerWorker overrides', () => {
    expect(Object.getOwnPropertyNames(TimerWorker.prototype).sort()).toEqual([
      'constructor',
      'getBlockTimeout',
      'moveToActive',
    ]);
  });
});

describe.skipIf(!haveRedisServer && process.env.CI === undefined)("TimerWorker in BullMQ's fetch loop", () => {
  let server: ThrowawayRedis;
  let socket: string;
  const open: BullmqTimers[] = [];

  beforeAll(async () => {
    server = await startRedisServer('timer-hooks');
    socket = server.socket;
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((timers) => timers.close()));
    vi.restoreAllMocks();
  });

  afterAll(() => server?.stop());

  it('calls getBlockTimeout with the due time (ms) and takes seconds back; calls moveToActive after a 0', async () => {
    const base = vi.spyOn(hooksOf(Worker.prototype), 'getBlockTimeout');
    const hook = vi.spyOn(hooksOf(TimerWorker.prototype), 'getBlockTimeout');
    const move = vi.spyOn(hooksOf(TimerWorker.prototype), 'moveToActive');
    const localWaitMs = 200;
    const timers = createBullmqTimers({ redis: { path: socket }, queueName: 'hooks', localWaitMs, logger: silent });
    open.push(timers);
    const fired: { fire: TimerFire; at: number }[] = [];
    await timers.startWorker(async (fire) => {
      fired.push({ fire, at: Date.now() });
    });

    const aheadMs = 800;
    const dueAt = Date.now() + aheadMs;
    await timers.add('hooked', 1, dueAt);
    await vi.waitFor(() => expect(fired).toHaveLength(1), { timeout: 5000, interval: 20 });
    expect(fired[0]!.fire).toEqual({ key: 'hooked', seq: 1 });
    expect(fired[0]!.at).toBeGreaterThanOrEqual(dueAt);

    // BullMQ hands the hook the next delayed job's due time, in epoch ms.
    const seen = hook.mock.calls.map(([blockUntil]) => blockUntil);
    expect(seen).toContain(dueAt);
    // Far from it, TimerWorker asks BullMQ's own hook to block until `localWaitMs` before it, and
    // BullMQ answers in seconds (the BZPOPMIN timeout): at most the 0.6 s left, not 600 (ms).
    const far = base.mock.calls.findIndex(([blockUntil]) => blockUntil === dueAt - localWaitMs);
    expect(far).toBeGreaterThanOrEqual(0);
    const seconds = base.mock.results[far]!.value as number;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual((aheadMs - localWaitMs) / 1000);
    // Near it, TimerWorker answers 0 (no blocking call)…
    const near = hook.mock.calls.findIndex(
      ([blockUntil], i) => blockUntil === dueAt && hook.mock.results[i]!.value === 0,
    );
    expect(near).toBeGreaterThanOrEqual(0);
    // …and BullMQ then calls moveToActive(client, token, name), which takes the job once due (a
    // call that comes before the due time, on a loaded machine, takes nothing and is repeated).
    const order = hook.mock.invocationCallOrder[near]!;
    const after = move.mock.invocationCallOrder.flatMap((call, i) => (call > order ? [i] : []));
    expect(after.length).toBeGreaterThan(0);
    const [client, token] = move.mock.calls[after[0]!]!;
    expect(client).toBeInstanceOf(Redis);
    expect(typeof token).toBe('string');
    const taken = await Promise.all(
      after.map(async (i) => ((await move.mock.results[i]!.value) as { data: unknown } | undefined)?.data),
    );
    expect(taken).toContainEqual({ key: 'hooked', seq: 1 });
  });
});
