import { captureLogs, createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryTimers,
  createMemoryTimerHub,
  createMemoryTimers,
  shardOf,
  deadlineJobId,
  type TimerFire,
} from '../src/index.js';
import { timersContract } from '../src/testing/index.js';

const silent = createLogger({ name: 'timers-test', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

timersContract('memory (shared hub)', async () => {
  const hub = createMemoryTimerHub();
  const timers = new MemoryTimers({ hub, backoffMs: 20, logger: silent });
  const other = new MemoryTimers({ hub, backoffMs: 20, logger: silent });
  return {
    timers,
    other,
    teardown: async () => {
      await Promise.all([timers.close(), other.close()]);
    },
  };
});

describe('MemoryTimers', () => {
  const open: MemoryTimers[] = [];
  const make = (options: ConstructorParameters<typeof MemoryTimers>[0] = {}) => {
    const timers = createMemoryTimers({ logger: silent, backoffMs: 10, ...options });
    open.push(timers);
    return timers;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((timers) => timers.close()));
  });

  /** Starts a worker on `timers` that records every fire. */
  const recordingWorker = async (timers: MemoryTimers) => {
    const fired: TimerFire[] = [];
    await timers.startWorker(async (fire) => {
      fired.push(fire);
    });
    return fired;
  };

  /** Starts a worker on `timers` whose handler always fails with `message`; returns its call count. */
  const failingWorker = async (timers: MemoryTimers, message: string) => {
    const handler = { calls: 0 };
    await timers.startWorker(async () => {
      handler.calls++;
      throw new Error(message);
    });
    return handler;
  };

  it('drops pending timers on close (private hub) and fires nothing afterwards', async () => {
    const timers = make();
    const fired = await recordingWorker(timers);
    await timers.add('tx', 1, Date.now() + 50);
    await timers.add('tx', 2, Date.now() + 80);
    expect(timers.hub.size).toBe(2);
    await timers.close();
    expect(timers.hub.size).toBe(0);
    await sleep(150);
    expect(fired).toEqual([]);
  });

  it('keeps shared jobs while another instance is open, and clears them with the last one', async () => {
    const hub = createMemoryTimerHub();
    const first = make({ hub });
    const second = make({ hub });
    await first.add('tx', 1, Date.now() + 10_000);
    await first.close();
    expect(hub.size).toBe(1);
    await second.close();
    expect(hub.size).toBe(0);
  });

  it('holds a due deadline until a worker starts', async () => {
    const timers = make();
    await timers.add('tx', 1, Date.now() + 20);
    await sleep(80);
    const fired: { fire: TimerFire; at: number }[] = [];
    const started = Date.now();
    await timers.startWorker(async (fire) => {
      fired.push({ fire, at: Date.now() });
    });
    await sleep(20);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.at - started).toBeLessThan(20);
  });

  it('adds a deadline again once it has fired (a fired job is forgotten)', async () => {
    const timers = make();
    const fired = await recordingWorker(timers);
    await timers.add('tx', 1, Date.now() + 20);
    await sleep(60);
    await timers.add('tx', 1, Date.now() + 20);
    await sleep(60);
    expect(fired).toHaveLength(2);
  });

  it('ignores a disarm while the handler runs, and an add of the same deadline meanwhile', async () => {
    const timers = make();
    let release: () => void = () => undefined;
    const calls: TimerFire[] = [];
    await timers.startWorker(async (fire) => {
      calls.push(fire);
      await new Promise<void>((resolve) => (release = resolve));
    });
    await timers.add('tx', 1, Date.now() + 10);
    await sleep(40);
    expect(calls).toHaveLength(1);
    await timers.disarm('tx', 1);
    await timers.add('tx', 1, Date.now() + 10);
    release();
    await sleep(40);
    expect(calls).toHaveLength(1);
    expect(timers.hub.size).toBe(0);
  });

  it('disarms a pending retry', async () => {
    const timers = make({ backoffMs: 200 });
    const handler = await failingWorker(timers, 'boom');
    await timers.add('tx', 1, Date.now() + 10);
    await sleep(60);
    expect(handler.calls).toBe(1);
    expect(timers.hub.size).toBe(1);
    await timers.disarm('tx', 1);
    expect(timers.hub.size).toBe(0);
    await sleep(300);
    expect(handler.calls).toBe(1);
  });

  it('logs handler failures and gives up after the last attempt', async () => {
    const { lines, logger } = captureLogs('timers-test', 'warn');
    const timers = make({ logger, attempts: 3, backoffMs: 5 });
    const handler = await failingWorker(timers, 'handler down');
    await timers.add('tx-log', 2, Date.now() + 5);
    await sleep(200);
    expect(handler.calls).toBe(3);
    expect(timers.hub.size).toBe(0);
    expect(lines.map((l) => [l.level, l.msg, l.attempt])).toEqual([
      ['warn', 'timer handler failed; retrying', 1],
      ['warn', 'timer handler failed; retrying', 2],
      ['error', 'timer handler failed; giving up', 3],
    ]);
    expect(lines[2]).toMatchObject({ key: 'tx-log', seq: 2, err: { message: 'handler down' } });
  });

  it('refuses a second worker on one instance and bad settings', async () => {
    const timers = make();
    await timers.startWorker(async () => undefined);
    await expect(timers.startWorker(async () => undefined)).rejects.toThrow(/already started/);
    expect(() => createMemoryTimers({ attempts: 0 })).toThrow(RangeError);
    expect(() => createMemoryTimers({ backoffMs: -1 })).toThrow(RangeError);
  });
});

describe('job ids and shards', () => {
  it('encodes (key, seq) without ":" and without collisions', () => {
    const ids = [
      deadlineJobId('a:b', 1),
      deadlineJobId('a', 1),
      deadlineJobId('a/1', 1),
      deadlineJobId('a', 11),
      deadlineJobId('a:b', 11),
      deadlineJobId('1', 2),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    for (const jobId of ids) {
      expect(jobId).not.toContain(':');
      expect(`${parseInt(jobId, 10)}`).not.toBe(jobId);
    }
    expect(deadlineJobId('z9hG4bK:1', 2)).toBe('d/z9hG4bK%3A1/2');
  });

  it('maps a key to a stable shard in range, spreading keys', () => {
    expect(shardOf('anything', 1)).toBe(0);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const shard = shardOf(`z9hG4bK-${i}|INVITE`, 3);
      expect(shard).toBe(shardOf(`z9hG4bK-${i}|INVITE`, 3));
      counts[shard]!++;
    }
    for (const count of counts) {
      expect(count).toBeGreaterThan(800);
    }
    // Pinned (FNV-1a 32 of "a" is 0xe40c292c): every process and release must agree on it.
    expect([shardOf('a', 3), shardOf('tx-1', 3), shardOf('z9hG4bK776asdhds', 7)]).toEqual([1, 1, 5]);
  });
});
