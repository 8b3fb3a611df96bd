import { captureLogs, createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryTimers,
  createMemoryTimerHub,
  createMemoryTimers,
  shardOf,
  timerJobId,
  type TimerFire,
} from '../src/index.js';
import { timersContract } from './contract.js';

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

  it('drops pending timers on close (private hub) and fires nothing afterwards', async () => {
    const timers = make();
    const fired: TimerFire[] = [];
    await timers.startWorker(async (fire) => {
      fired.push(fire);
    });
    await timers.schedule('tx', 'B', 50, 1);
    await timers.schedule('tx', 'D', 80, 1);
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
    await first.schedule('tx', 'B', 10_000, 1);
    await first.close();
    expect(hub.size).toBe(1);
    await second.close();
    expect(hub.size).toBe(0);
  });

  it('holds a due timer until a worker starts', async () => {
    const timers = make();
    await timers.schedule('tx', 'A', 20, 1);
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

  it('arms a timer again once it has fired (a fired job is forgotten)', async () => {
    const timers = make();
    const fired: TimerFire[] = [];
    await timers.startWorker(async (fire) => {
      fired.push(fire);
    });
    await timers.schedule('tx', 'A', 20, 1);
    await sleep(60);
    await timers.schedule('tx', 'A', 20, 1);
    await sleep(60);
    expect(fired).toHaveLength(2);
  });

  it('ignores a cancel while the handler runs, and a schedule of the same job meanwhile', async () => {
    const timers = make();
    let release: () => void = () => undefined;
    const calls: TimerFire[] = [];
    await timers.startWorker(async (fire) => {
      calls.push(fire);
      await new Promise<void>((resolve) => (release = resolve));
    });
    await timers.schedule('tx', 'A', 10, 1);
    await sleep(40);
    expect(calls).toHaveLength(1);
    await timers.cancel('tx', 'A', 1);
    await timers.schedule('tx', 'A', 10, 1);
    release();
    await sleep(40);
    expect(calls).toHaveLength(1);
    expect(timers.hub.size).toBe(0);
  });

  it('cancels a pending retry', async () => {
    const timers = make({ backoffMs: 200 });
    let calls = 0;
    await timers.startWorker(async () => {
      calls++;
      throw new Error('boom');
    });
    await timers.schedule('tx', 'A', 10, 1);
    await sleep(60);
    expect(calls).toBe(1);
    expect(timers.hub.size).toBe(1);
    await timers.cancel('tx', 'A', 1);
    expect(timers.hub.size).toBe(0);
    await sleep(300);
    expect(calls).toBe(1);
  });

  it('logs handler failures and gives up after the last attempt', async () => {
    const { lines, logger } = captureLogs('timers-test', 'warn');
    const timers = make({ logger, attempts: 3, backoffMs: 5 });
    let calls = 0;
    await timers.startWorker(async () => {
      calls++;
      throw new Error('handler down');
    });
    await timers.schedule('tx-log', 'H', 5, 2);
    await sleep(200);
    expect(calls).toBe(3);
    expect(timers.hub.size).toBe(0);
    expect(lines.map((l) => [l.level, l.msg, l.attempt])).toEqual([
      ['warn', 'timer handler failed; retrying', 1],
      ['warn', 'timer handler failed; retrying', 2],
      ['error', 'timer handler failed; giving up', 3],
    ]);
    expect(lines[2]).toMatchObject({ key: 'tx-log', timer: 'H', generation: 2, err: { message: 'handler down' } });
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
  it('encodes (key, timer, generation) without ":" and without collisions', () => {
    const ids = [
      timerJobId('a:b', 'A', 1),
      timerJobId('a', 'b:A', 1),
      timerJobId('a/b', 'A', 1),
      timerJobId('a', 'b/A', 1),
      timerJobId('a:b', 'A', 11),
      timerJobId('1', '2', 3),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    for (const jobId of ids) {
      expect(jobId).not.toContain(':');
      expect(`${parseInt(jobId, 10)}`).not.toBe(jobId);
    }
    expect(timerJobId('z9hG4bK:1', 'A', 2)).toBe('t/z9hG4bK%3A1/A/2');
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
