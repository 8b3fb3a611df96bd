import { captureLogs, createLogger } from '@sipedge/telemetry';
import { TimersUnavailableError, createBullmqTimers, type BullmqTimers, type TimerFire } from '@sipedge/timers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueTracker } from '../support/deadlines.js';
import { startContainerAgain, startRedis, stopContainer, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';

const { due, addIn } = dueTracker();

// Redis goes away under the BullMQ timers and comes back (the container is stopped and started
// again on the same host port). What is guaranteed, and asserted:
//   - while Redis is down, schedule/cancel reject promptly with TimersUnavailableError;
//   - nothing crashes, nothing is left as an unhandled rejection;
//   - the worker reconnects by itself and fires timers scheduled after Redis is back;
//   - close() returns while Redis is down.
// Not guaranteed: timers scheduled before the outage. They survive only if Redis keeps its data
// across the restart (persistence, or a replica promoted). The test image runs redis-server with
// `--save "" --appendonly no`, so a restart empties it; the test reports what it saw (annotation)
// and asserts only that such a timer fires at most once.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  try {
    await promise;
    return { ms: Date.now() - start, error: undefined };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) {
      return true;
    }
    await sleep(stepMs);
  }
  return condition();
}

const problems: unknown[] = [];
const onProblem = (reason: unknown) => problems.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
});

afterAll(() => {
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtException', onProblem);
});

describe('BullMQ timers while Redis is down', () => {
  let redis: StartedRedis | undefined;
  const open: BullmqTimers[] = [];

  afterAll(async () => {
    await Promise.all(open.map((timers) => timers.close()));
    await redis?.container.stop();
  });

  it('fails fast during the outage, recovers by itself afterwards, never crashes', async ({ annotate }) => {
    redis = await startRedis({ hostPort: await freePort() });
    const { lines, logger } = captureLogs('timers-faults', 'info');
    const timers = createBullmqTimers({
      redis: redis.url,
      queueName: 'faults',
      logger,
      backoffMs: 50,
      commandTimeoutMs: 1000,
    });
    open.push(timers);
    // A second "process" with a worker, closed while Redis is down.
    const doomed = createBullmqTimers({ redis: redis.url, queueName: 'faults', logger, closeTimeoutMs: 1000 });
    const fired: { fire: TimerFire; at: number }[] = [];
    await timers.startWorker(async (fire) => {
      fired.push({ fire, at: Date.now() });
    });
    await doomed.startWorker(async (fire) => {
      fired.push({ fire, at: Date.now() });
    });
    const firedKeys = () => fired.map((f) => f.fire.key);

    await addIn(timers, 'before-sanity', 100);
    expect(await until(() => firedKeys().includes('before-sanity'), 3000)).toBe(true);
    // Due after Redis is back: fires only if Redis kept its data.
    await addIn(timers, 'before-outage', 3000);
    const beforeOutageDueAt = Date.now() + 3000;

    await stopContainer(redis.container);

    // The first call may still find the connection open: it fails when the socket closes, or
    // at the latest after commandTimeoutMs.
    const first = await timed(addIn(timers, 'during-1', 100));
    expect(first.error).toBeInstanceOf(TimersUnavailableError);
    expect(first.ms).toBeLessThan(1500);
    // Once the loss is known, calls fail at once.
    expect(await until(async () => (await timed(addIn(timers, 'probe', 100))).ms < 50, 3000)).toBe(true);
    for (const call of [addIn(timers, 'during-2', 100), timers.disarm('before-outage', 1)]) {
      const result = await timed(call);
      expect(result.error).toBeInstanceOf(TimersUnavailableError);
      expect((result.error as Error).message).toMatch(/unreachable/);
      expect(result.ms).toBeLessThan(50);
    }
    // A process can shut down while Redis is down.
    const closing = await timed(doomed.close());
    expect(closing.error).toBeUndefined();
    expect(closing.ms).toBeLessThan(3000);

    await sleep(1500); // the worker keeps retrying meanwhile
    await startContainerAgain(redis.container);
    const restartedAt = Date.now();

    // The producer reconnects by itself (reconnect interval at most 1 s).
    expect(await until(async () => (await timed(addIn(timers, 'after-1', 200))).error === undefined, 10_000, 100)).toBe(
      true,
    );
    const recoveredMs = Date.now() - restartedAt;
    await addIn(timers, 'after-2', 300);
    await addIn(timers, 'after-cancelled', 300);
    await timers.disarm('after-cancelled', 1);

    // The worker from before the outage fires them: it reconnected by itself.
    expect(await until(() => firedKeys().includes('after-1') && firedKeys().includes('after-2'), 10_000)).toBe(true);
    for (const { fire, at } of fired.filter((f) => f.fire.key.startsWith('after-'))) {
      expect(at).toBeGreaterThanOrEqual(due.get(fire.key)!);
      expect(at - due.get(fire.key)!).toBeLessThan(1000);
    }

    // Observe the timer scheduled before the outage (at most once, and not before it was due).
    await sleep(Math.max(0, beforeOutageDueAt - Date.now()) + 1000);
    const survivors = fired.filter((f) => f.fire.key === 'before-outage');
    expect(survivors.length).toBeLessThanOrEqual(1);
    for (const { fire, at } of survivors) {
      expect(at).toBeGreaterThanOrEqual(due.get(fire.key)!);
    }
    annotate(
      `first call after the stop failed in ${first.ms} ms; close during the outage took ${closing.ms} ms; ` +
        `recovered ${recoveredMs} ms after the container started; timer scheduled before the outage: ` +
        (survivors.length ? 'fired (Redis kept its data)' : 'lost (Redis restarted empty: no persistence)'),
    );

    expect(firedKeys()).not.toContain('after-cancelled');
    expect(firedKeys()).not.toContain('during-1');
    expect(firedKeys().filter((key) => key === 'after-1')).toHaveLength(1);
    // The outage was logged (throttled) and so was the recovery; no error-level noise.
    expect(lines.some((l) => l.level === 'warn' && l.msg === 'timers: Redis unreachable; retrying')).toBe(true);
    expect(lines.some((l) => l.level === 'info' && l.msg === 'timers: Redis reachable again')).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('fails fast and closes cleanly when Redis was never reachable', async () => {
    const port = await freePort(); // nothing listens there
    const timers = createBullmqTimers({
      redis: `redis://127.0.0.1:${port}`,
      queueName: 'never',
      logger: createLogger({ name: 'timers-faults', level: 'silent' }),
      connectTimeoutMs: 300,
    });

    // The first calls wait for the first connection for connectTimeoutMs, no longer.
    const first = await timed(addIn(timers, 'tx', 100));
    expect(first.error).toBeInstanceOf(TimersUnavailableError);
    expect(first.ms).toBeGreaterThanOrEqual(250);
    expect(first.ms).toBeLessThan(1000);
    const cancel = await timed(timers.disarm('tx', 1));
    expect(cancel.error).toBeInstanceOf(TimersUnavailableError);
    expect(cancel.ms).toBeLessThan(1000);

    // startWorker does not hang either: the worker would start firing once Redis appears.
    const started = await timed(timers.startWorker(async () => undefined));
    expect(started.error).toBeUndefined();
    expect(started.ms).toBeLessThan(1500);

    const closed = await timed(timers.close());
    expect(closed.error).toBeUndefined();
    expect(closed.ms).toBeLessThan(3000);
    expect(problems).toEqual([]);
  });
});
