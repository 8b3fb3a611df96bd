import { captureLogs, createLogger } from '@sipedge/telemetry';
import { createBullmqTimers, type BullmqTimers, type BullmqTimersOptions, type TimerFire } from '@sipedge/timers';
import { timersContract } from '@sipedge/timers/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type StartedRedis } from '../support/containers.js';

// BullMQ timers against a real Redis: the shared contract (one queue, and three shards), plus what
// only a real Redis shows: the keys each shard writes, the commands an add, a move and a disarm cost, and
// that fired jobs do not stay behind.

const silent = createLogger({ name: 'timers-test', level: 'silent' });

let redis: StartedRedis;
let admin: Redis;
let queues = 0;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await admin?.quit();
  await redis?.container.stop();
});

/** Two instances (two "processes") on a fresh queue of the shared Redis. */
function pair(options: Partial<BullmqTimersOptions> = {}) {
  const settings: BullmqTimersOptions = {
    redis: redis.url,
    queueName: `contract-${++queues}`,
    backoffMs: 50,
    logger: silent,
    ...options,
  };
  const timers = createBullmqTimers(settings);
  const other = createBullmqTimers(settings);
  return {
    timers,
    other,
    settings,
    teardown: async () => {
      await Promise.all([timers.close(), other.close()]);
    },
  };
}

timersContract('BullMQ', async () => pair());
timersContract('BullMQ, 3 shards', async () => pair({ shards: 3 }));

async function commandCalls(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d > 0) {
      result.set(name, d);
    }
  }
  return result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) {
    await sleep(20);
  }
  return condition();
}

describe('BullMQ timers on Redis', () => {
  const open: BullmqTimers[] = [];
  afterAll(async () => {
    await Promise.all(open.map((timers) => timers.close()));
  });

  it('puts each shard under its own hash-tagged prefix, each key in the shard of its hash', async () => {
    const { timers, settings } = pair({ shards: 3, prefix: 'shard-test' });
    open.push(timers);
    const keys = Array.from({ length: 30 }, (_, i) => `z9hG4bK-shard-${i}`);
    await Promise.all(keys.map((key) => timers.add(key, 1, Date.now() + 60_000)));

    const stored = await admin.keys('{shard-test-*');
    const tags = new Set(stored.map((key) => /^\{([^}]*)\}/.exec(key)?.[1]));
    expect([...tags].sort()).toEqual(['shard-test-0', 'shard-test-1', 'shard-test-2']);
    for (const key of keys) {
      const shard = timers.shardOf(key);
      const jobKey = `{shard-test-${shard}}:${settings.queueName}:d/${encodeURIComponent(key)}/1`;
      expect(await admin.exists(jobKey)).toBe(1);
    }
    await Promise.all(keys.map((key) => timers.disarm(key, 1)));
    const left = await admin.keys(`{shard-test-*}:${settings.queueName}:d/*`);
    expect(left).toEqual([]);
  });

  it('costs one round trip each to add, move and disarm', async () => {
    const { timers } = pair();
    open.push(timers);
    await timers.add('warm-up', 1, Date.now() + 60_000); // loads the scripts
    await timers.move('warm-up', 1, Date.now() + 30_000);
    await timers.disarm('warm-up', 1);
    const deadlines = 50;
    const before = await commandCalls();
    for (let i = 0; i < deadlines; i++) {
      await timers.add(`tx-cost-${i}`, 1, Date.now() + 60_000);
      await timers.move(`tx-cost-${i}`, 1, Date.now() + 30_000);
      await timers.disarm(`tx-cost-${i}`, 1);
    }
    const used = delta(before, await commandCalls());
    used.set('info', (used.get('info') ?? 1) - 1); // our own INFO
    const roundTrips = (used.get('evalsha') ?? 0) + (used.get('eval') ?? 0);
    const total = [...used.values()].reduce((sum, n) => sum + n, 0);
    expect(roundTrips / deadlines).toBe(3);
    // Inside the three scripts: about 11 commands to add, 9 to move, 12 to remove (BullMQ 5.81).
    expect(total / deadlines).toBeLessThan(40);
  });

  it('removes fired jobs, keeping no job data behind', async () => {
    const { timers, settings } = pair();
    open.push(timers);
    let fired = 0;
    await timers.startWorker(async () => {
      fired++;
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => timers.add(`tx-gone-${i}`, 1, Date.now() + 50)));
    const deadline = Date.now() + 5000;
    while (fired < 20 && Date.now() < deadline) {
      await sleep(20);
    }
    await sleep(100);
    expect(fired).toBe(20);
    expect(await admin.keys(`{sipedge-timers-0}:${settings.queueName}:d/*`)).toEqual([]);
    expect(await admin.zcard(`{sipedge-timers-0}:${settings.queueName}:completed`)).toBe(0);
  });

  it('re-fires on another worker a fire whose worker died mid-handler (none lost)', async () => {
    const queueName = `dying-${++queues}`;
    const base = { redis: redis.url, queueName, logger: silent };
    // The dying worker's lock lapses after 1 s; stalled jobs are looked for every 300 ms (a Redis
    // key throttles the check across all workers of the queue, so both use the same interval).
    const dying = createBullmqTimers({ ...base, lockDurationMs: 1000, stalledIntervalMs: 300, closeTimeoutMs: 200 });
    const survivor = createBullmqTimers({ ...base, stalledIntervalMs: 300 });
    open.push(dying, survivor);
    const started: TimerFire[] = [];
    await dying.startWorker(async (fire) => {
      started.push(fire);
      await new Promise(() => undefined); // hangs: the process "dies" during the fire
    });
    await dying.add('tx-orphaned', 3, Date.now() + 50);
    expect(await until(() => started.length === 1, 3000)).toBe(true);

    const closeStart = Date.now();
    await dying.close(); // gives up on the hung fire after closeTimeoutMs, stops renewing its lock
    expect(Date.now() - closeStart).toBeLessThan(1500);
    const refired: { fire: TimerFire; at: number }[] = [];
    await survivor.startWorker(async (fire) => {
      refired.push({ fire, at: Date.now() });
    });

    // Lock expiry (≤ 1 s after the close) + at most two stalled checks.
    expect(await until(() => refired.length === 1, 3000)).toBe(true);
    expect(refired[0]!.at - closeStart).toBeLessThan(2500);
    expect(refired[0]?.fire).toEqual(started[0]);
    await sleep(500);
    expect(refired).toHaveLength(1);
  });

  it('logs handler failures and keeps a job that failed every attempt in the failed set', async () => {
    const { lines, logger } = captureLogs('timers-test', 'warn');
    const { timers, settings } = pair({ attempts: 2, backoffMs: 20, logger });
    open.push(timers);
    let calls = 0;
    await timers.startWorker(async () => {
      calls++;
      throw new Error('always');
    });
    await timers.add('tx-failed', 1, Date.now() + 20);
    const failedKey = `{sipedge-timers-0}:${settings.queueName}:failed`;
    const deadline = Date.now() + 5000;
    while ((await admin.zcard(failedKey)) === 0 && Date.now() < deadline) {
      await sleep(20);
    }
    expect(calls).toBe(2);
    expect(await admin.zrange(failedKey, 0, -1)).toEqual(['d/tx-failed/1']);
    expect(lines.map((l) => [l.level, l.msg, l.attempt, l.attempts])).toEqual([
      ['warn', 'timer handler failed; retrying', 1, 2],
      ['error', 'timer handler failed; giving up', 2, 2],
    ]);
    expect(lines[1]).toMatchObject({ key: 'tx-failed', seq: 1, err: { message: 'always' } });
  });
});
