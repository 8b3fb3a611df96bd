/**
 * BullMQ timers benchmark: fire lateness under a burst, and the Redis commands a add + disarm
 * costs. A library function (the caller prints); run it from this repository with the
 * `development` condition so that workspace packages resolve to their sources, e.g.
 *
 *   node --conditions=development --import tsx -e "
 *     const { benchTimers } = await import('./bench/adapters/timers.ts');
 *     console.log(await benchTimers('redis://127.0.0.1:6379', { workers: 2 }));"
 *
 * 1. Cost: 1000 add + disarm pairs (timers due in 60 s, so nothing fires) on a queue no worker
 *    listens to (a worker's BZPOPMIN, woken by every new delayed job, would add commands that
 *    depend on timing). Measured as `INFO commandstats` deltas: `redisCommandsPerAddDisarm`
 *    counts every command Redis executed, including those inside BullMQ's Lua scripts;
 *    `redisRoundTripsPerAddDisarm` counts what the client sent (EVALSHA/EVAL).
 *    Other clients of the same Redis would be counted too: use a Redis of your own.
 * 2. Lateness: 10 000 timers, each scheduled with a 500 ms delay (at most 256 schedules in flight),
 *    fired by one worker (this process) or two (this process and a child process started with
 *    `fork`, see `timers-worker.ts`). Lateness = fire time − dueAt, both `Date.now()` on this
 *    host. Bounded: fires are awaited at most 60 s after the last schedule.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@sipedge/telemetry';
import { Redis } from 'ioredis';
import { createBullmqTimers } from '@sipedge/timers';
import type { ParentToWorker, WorkerToParent } from './timers-worker.js';
import { commandCalls } from '../support/redis.js';
import { percentile } from '../support/stats.js';

export interface TimersBenchOptions {
  workers: 1 | 2;
}

export interface TimersBenchResult {
  /** Timers fired (distinct); 10 000 unless the time bound cut the run short. */
  timers: number;
  latenessP50Ms: number;
  latenessP99Ms: number;
  latenessMaxMs: number;
  /** All commands Redis executed per add + disarm, script-internal ones included. */
  redisCommandsPerAddDisarm: number;
  /** Commands the client sent per add + disarm (network round trips when not pipelined). */
  redisRoundTripsPerAddDisarm: number;
  /** Fires of a timer that had already fired (0 expected). */
  duplicateFires: number;
  /** Fires handled by the second worker (a separate process); 0 with one worker. */
  firedBySecondWorker: number;
  /** Wall time to add the 10 000 deadlines. */
  scheduleMs: number;
  /** From the first add to the last fire. */
  totalMs: number;
}

const TIMERS = 10_000;
const DELAY_MS = 500;
const IN_FLIGHT = 256;
const COST_PAIRS = 1000;
const FIRE_DEADLINE_MS = 60_000;
const CHILD_START_MS = 30_000;

const silent = createLogger({ name: 'bench-timers', level: 'silent' });

/** A plain client for INFO and clean-up; its errors surface through its commands (no printing). */
function adminClient(redisUrl: string): Redis {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A bench deadline's key carries its due time (`bench-<i>@<dueAt>`), so that any process can tell its lateness. */
export const dueOf = (key: string): number => Number(key.slice(key.lastIndexOf('@') + 1));

export async function benchTimers(redisUrl: string, options: TimersBenchOptions): Promise<TimersBenchResult> {
  const run = `${process.pid}-${Date.now()}`;
  const prefix = 'sipedge-bench';
  const cost = await measureCost(redisUrl, `cost-${run}`, prefix);

  const queueName = `lateness-${run}`;
  const timers = createBullmqTimers({ redis: redisUrl, queueName, prefix, logger: silent });
  const lateness: number[] = [];
  const seen = new Set<string>();
  let duplicateFires = 0;
  let firedBySecondWorker = 0;
  let lastFireAt = 0;
  const record = (key: string, latenessMs: number) => {
    lastFireAt = Date.now();
    if (seen.has(key)) {
      duplicateFires++;
      return;
    }
    seen.add(key);
    lateness.push(latenessMs);
  };

  let child: ChildProcess | undefined;
  try {
    await timers.startWorker(async (fire) => record(fire.key, Date.now() - dueOf(fire.key)));
    if (options.workers === 2) {
      child = await startChild(redisUrl, queueName, prefix, (fires) => {
        firedBySecondWorker += fires.length;
        for (const [key, latenessMs] of fires) {
          record(key, latenessMs);
        }
      });
    }

    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < TIMERS) {
          const i = next++;
          await timers.add(`bench-${i}@${Date.now() + DELAY_MS}`, 1, Date.now() + DELAY_MS);
        }
      }),
    );
    const scheduleMs = Date.now() - started;

    const deadline = Date.now() + DELAY_MS + FIRE_DEADLINE_MS;
    while (seen.size < TIMERS && Date.now() < deadline) {
      await sleep(20);
    }
    const totalMs = lastFireAt - started;
    if (child) {
      await stopChild(child); // its last batch may carry duplicates: counted
    }
    await sleep(100);

    lateness.sort((a, b) => a - b);
    return {
      timers: seen.size,
      latenessP50Ms: percentile(lateness, 0.5),
      latenessP99Ms: percentile(lateness, 0.99),
      latenessMaxMs: lateness.at(-1) ?? Number.NaN,
      redisCommandsPerAddDisarm: cost.commands,
      redisRoundTripsPerAddDisarm: cost.roundTrips,
      duplicateFires,
      firedBySecondWorker,
      scheduleMs,
      totalMs,
    };
  } finally {
    child?.kill();
    await timers.close();
    await cleanUp(redisUrl, prefix, [queueName, `cost-${run}`]);
  }
}

async function measureCost(
  redisUrl: string,
  queueName: string,
  prefix: string,
): Promise<{ commands: number; roundTrips: number }> {
  const admin = adminClient(redisUrl);
  const timers = createBullmqTimers({ redis: redisUrl, queueName, prefix, logger: silent });
  try {
    await timers.add('warm-up', 1, Date.now() + 60_000); // loads the Lua scripts
    await timers.disarm('warm-up', 1);
    const before = await commandCalls(admin);
    for (let start = 0; start < COST_PAIRS; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          await timers.add(`cost-${start + j}`, 1, Date.now() + 60_000);
          await timers.disarm(`cost-${start + j}`, 1);
        }),
      );
    }
    const after = await commandCalls(admin);
    let commands = -1; // the first INFO is counted in `after`
    let roundTrips = 0;
    for (const [name, calls] of after) {
      const delta = calls - (before.get(name) ?? 0);
      commands += delta;
      if (name === 'evalsha' || name === 'eval') {
        roundTrips += delta;
      }
    }
    return { commands: commands / COST_PAIRS, roundTrips: roundTrips / COST_PAIRS };
  } finally {
    await timers.close();
    await admin.quit();
  }
}

async function startChild(
  redisUrl: string,
  queueName: string,
  prefix: string,
  onFires: (fires: [string, number][]) => void,
): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./timers-worker.ts', import.meta.url));
  const child = fork(script, [redisUrl, queueName, prefix], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    execArgv: ['--conditions=development', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  child.on('message', (message: WorkerToParent) => {
    if (message.type === 'fires') {
      onFires(message.fires);
    }
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`timer worker process not ready after ${CHILD_START_MS} ms`)),
      CHILD_START_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\n${stderr}`));
    };
    child.once('exit', (code) => fail(new Error(`timer worker process exited (${code})`)));
    child.on('message', (message: WorkerToParent) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      }
    });
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    child.on('message', (message: WorkerToParent) => message.type === 'closed' && resolve());
    child.once('exit', () => resolve());
  });
  child.send({ type: 'stop' } satisfies ParentToWorker);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  if (child.connected) {
    child.disconnect();
  }
}

/** Deletes the benchmark's queues (everything under their keys). */
async function cleanUp(redisUrl: string, prefix: string, queueNames: string[]): Promise<void> {
  const admin = adminClient(redisUrl);
  try {
    for (const queueName of queueNames) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `{${prefix}-0}:${queueName}:*`, 'COUNT', 1000);
        cursor = nextCursor;
        if (keys.length > 0) {
          await admin.del(...keys);
        }
      } while (cursor !== '0');
    }
  } finally {
    await admin.quit();
  }
}
