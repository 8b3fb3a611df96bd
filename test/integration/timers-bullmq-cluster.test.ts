import { captureLogs, createLogger } from '@sipedge/telemetry';
import {
  TimersUnavailableError,
  createBullmqTimers,
  type BullmqTimers,
  type BullmqTimersOptions,
  type TimerFire,
} from '@sipedge/timers';
import { timersContract } from '@sipedge/timers/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueTracker } from '../support/deadlines.js';
import { freePort } from '../support/free-port.js';
import { startRedisCluster, type StartedRedisCluster } from '../support/redis-cluster.js';

const { due, addIn } = dueTracker();

// BullMQ timers on a three-master Redis Cluster (`redis: { cluster: seeds }`): the shared contract
// with three shards, plus what only a cluster shows: the shard queues live on different masters,
// an add + disarm still costs two round trips (no redirections), and the precise wake-up
// still works through BullMQ's cluster blocking connections. Then masters go away, one and then
// all, and come back: fail-fast, the shards that stay up keep working, recovery by itself.

const silent = createLogger({ name: 'timers-cluster-test', level: 'silent' });

let cluster: StartedRedisCluster;
/** One plain connection per master, in the order of `cluster.nodes`. */
let admins: Redis[] = [];
let queues = 0;

beforeAll(async () => {
  cluster = await startRedisCluster();
  admins = cluster.nodes.map(({ host, port }) => new Redis({ host, port, maxRetriesPerRequest: 1 }));
});

afterAll(async () => {
  await Promise.all(admins.map((admin) => admin.quit()));
  await cluster?.container.stop();
});

function settings(options: Partial<BullmqTimersOptions> = {}): BullmqTimersOptions {
  return {
    redis: { cluster: cluster.nodes },
    queueName: `cluster-${++queues}`,
    shards: 3,
    backoffMs: 50,
    logger: silent,
    ...options,
  };
}

timersContract('BullMQ on a Redis Cluster (three masters), 3 shards', async () => {
  const shared = settings();
  const timers = createBullmqTimers(shared);
  const other = createBullmqTimers(shared);
  return {
    timers,
    other,
    teardown: async () => {
      await Promise.all([timers.close(), other.close()]);
    },
  };
});

type SlotRange = [from: number, to: number, ...nodes: [host: string, port: number, id: string, info: unknown[]][]];

/** Index (in `cluster.nodes`) of the master serving the slot of a hash-tagged prefix. */
async function masterOf(prefix: string): Promise<{ slot: number; node: number }> {
  const admin = admins[0]!;
  const slot = (await admin.cluster('KEYSLOT', prefix)) as number;
  const ranges = (await admin.cluster('SLOTS')) as SlotRange[];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  const node = cluster.nodes.findIndex(({ port }) => port === range?.[2]?.[1]);
  expect(node).toBeGreaterThanOrEqual(0);
  return { slot, node };
}

async function commandCalls(): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const admin of admins) {
    const info = await admin.info('commandstats');
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls.set(match[1]!, (calls.get(match[1]!) ?? 0) + Number(match[2]));
    }
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

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) {
      return true;
    }
    await sleep(stepMs);
  }
  return condition();
}

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  try {
    await promise;
    return { ms: Date.now() - start, error: undefined };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}

/** A key (of the form `<stem>-<n>`) whose shard is `shard`. */
function keyOfShard(timers: BullmqTimers, stem: string, shard: number): string {
  for (let n = 0; ; n++) {
    if (timers.shardOf(`${stem}-${n}`) === shard) {
      return `${stem}-${n}`;
    }
  }
}

describe('BullMQ timers on a Redis Cluster', () => {
  const open: BullmqTimers[] = [];
  afterAll(async () => {
    await Promise.all(open.map((timers) => timers.close()));
  });

  it('spreads the three shard queues over at least two masters, each queue on one', async ({ annotate }) => {
    // The contract's set-up: default prefix, three shards.
    const options = settings();
    const timers = createBullmqTimers(options);
    open.push(timers);
    const placement = await Promise.all(timers.shardPrefixes.map(masterOf));
    expect(new Set(placement.map(({ node }) => node)).size).toBeGreaterThanOrEqual(2);

    // And the keys really are there: every key of a shard's queue on its master, none elsewhere.
    const keys = Array.from({ length: 30 }, (_, i) => `z9hG4bK-spread-${i}`);
    await Promise.all(keys.map((key) => addIn(timers, key, 60_000)));
    expect(new Set(keys.map((key) => timers.shardOf(key))).size).toBe(3);
    for (const [shard, prefix] of timers.shardPrefixes.entries()) {
      const holders: number[] = [];
      for (const [node, admin] of admins.entries()) {
        if ((await admin.keys(`${prefix}:${options.queueName}:*`)).length > 0) {
          holders.push(node);
        }
      }
      expect(holders).toEqual([placement[shard]!.node]);
    }
    for (const key of keys) {
      const shard = timers.shardOf(key);
      const admin = admins[placement[shard]!.node]!;
      const jobKey = `${timers.shardPrefixes[shard]}:${options.queueName}:d/${encodeURIComponent(key)}/1`;
      expect(await admin.exists(jobKey)).toBe(1);
    }
    await Promise.all(keys.map((key) => timers.disarm(key, 1)));
    annotate(
      timers.shardPrefixes
        .map((prefix, i) => `${prefix} → slot ${placement[i]!.slot} on :${cluster.nodes[placement[i]!.node]!.port}`)
        .join('; '),
    );
  });

  it('costs two round trips per add + disarm, as on one server (no redirections)', async () => {
    const timers = createBullmqTimers(settings());
    open.push(timers);
    for (let shard = 0; shard < 3; shard++) {
      // Loads the scripts on every master and the slot map.
      const key = Array.from({ length: 20 }, (_, i) => `warm-up-${i}`).find((k) => timers.shardOf(k) === shard)!;
      await addIn(timers, key, 60_000);
      await timers.disarm(key, 1);
    }
    const pairs = 60;
    const before = await commandCalls();
    for (let i = 0; i < pairs; i++) {
      await addIn(timers, `tx-cost-${i}`, 60_000);
      await timers.disarm(`tx-cost-${i}`, 1);
    }
    const used = delta(before, await commandCalls());
    used.delete('info'); // our own INFO, once per node
    const roundTrips = (used.get('evalsha') ?? 0) + (used.get('eval') ?? 0);
    const total = [...used.values()].reduce((sum, n) => sum + n, 0);
    expect(roundTrips / pairs).toBe(2);
    expect(used.get('cluster') ?? 0).toBe(0); // no slot refresh: nothing was redirected
    expect(total / pairs).toBeLessThan(30);
  });

  it('fires on time through the cluster blocking connections (precise wake-up)', async ({ annotate }) => {
    const timers = createBullmqTimers(settings());
    open.push(timers);
    const lateness: number[] = [];
    await timers.startWorker(async (fire) => {
      lateness.push(Date.now() - due.get(fire.key)!);
    });
    const count = 30;
    await Promise.all(Array.from({ length: count }, (_, i) => addIn(timers, `tx-on-time-${i}`, 300 + i * 23)));
    expect(await until(() => lateness.length === count, 5000)).toBe(true);
    const sorted = [...lateness].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(count / 2)]!;
    annotate(`lateness over ${count} fires on 3 shards: p50 ${p50} ms, max ${sorted[count - 1]} ms`);
    expect(sorted[0]).toBeGreaterThanOrEqual(0);
    // Without it (localWaitMs: 0), Redis' hz tick gives p50 ≈ 40–50 ms.
    expect(p50).toBeLessThan(25);
  });
});

// Nodes are stopped with SHUTDOWN NOSAVE and started again with the command line of
// test/support/redis-cluster.ts: the cluster config file survives in the container, so each node
// comes back with its id and slots (but, without persistence, no data).
async function stopNode(started: StartedRedisCluster, port: number): Promise<void> {
  await started.container.exec(['redis-cli', '-p', String(port), 'shutdown', 'nosave']);
}

async function startNode(started: StartedRedisCluster, port: number): Promise<void> {
  const result = await started.container.exec([
    'redis-server',
    ...['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', `/tmp/nodes-${port}.conf`, '--daemonize', 'yes'],
  ]);
  expect(result.exitCode).toBe(0);
}

async function clusterOk(started: StartedRedisCluster): Promise<boolean> {
  for (const { port } of started.nodes) {
    const result = await started.container.exec(['redis-cli', '-p', String(port), 'cluster', 'info']);
    if (!result.output.includes('cluster_state:ok')) {
      return false;
    }
  }
  return true;
}

describe('BullMQ timers while Redis Cluster masters are down', () => {
  let faulty: StartedRedisCluster | undefined;
  const open: BullmqTimers[] = [];
  const problems: unknown[] = [];
  const onProblem = (reason: unknown) => problems.push(reason);

  beforeAll(() => {
    process.on('unhandledRejection', onProblem);
    process.on('uncaughtException', onProblem);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onProblem);
    process.off('uncaughtException', onProblem);
    await Promise.all(open.map((timers) => timers.close()));
    await faulty?.container.stop();
  });

  it('fails fast for the lost shards, keeps the others, recovers by itself, never crashes', async ({ annotate }) => {
    faulty = await startRedisCluster();
    const started = faulty;
    const { lines, logger } = captureLogs('timers-cluster-faults', 'info');
    const base = { redis: { cluster: started.nodes }, queueName: 'faults', shards: 3, logger };
    const timers = createBullmqTimers({ ...base, backoffMs: 50, commandTimeoutMs: 1000 });
    // A second "process" with a worker, closed while the cluster is down.
    const doomed = createBullmqTimers({ ...base, closeTimeoutMs: 1000 });
    open.push(timers, doomed);
    const fired: { fire: TimerFire; at: number }[] = [];
    const record = async (fire: TimerFire) => {
      fired.push({ fire, at: Date.now() });
    };
    await timers.startWorker(record);
    await doomed.startWorker(record);
    const firedKeys = () => fired.map((f) => f.fire.key);

    // Which master serves which shard.
    const admin = new Redis(started.nodes[0]!);
    const ranges = (await admin.cluster('SLOTS')) as SlotRange[];
    const portOf = async (prefix: string) => {
      const slot = (await admin.cluster('KEYSLOT', prefix)) as number;
      return ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    };
    const shardPorts = await Promise.all(timers.shardPrefixes.map(portOf));
    await admin.quit();
    const lostPort = shardPorts[0]!;
    const kept = shardPorts.map((port, shard) => ({ port, shard })).filter(({ port }) => port !== lostPort);
    expect(kept.length).toBeGreaterThan(0);

    const sanity = [0, 1, 2].map((shard) => keyOfShard(timers, 'before', shard));
    await Promise.all(sanity.map((key) => addIn(timers, key, 100)));
    expect(await until(() => sanity.every((key) => firedKeys().includes(key)), 3000)).toBe(true);

    // 1. One master goes away (no replica to promote): its shard fails within commandTimeoutMs,
    // the shards on the other masters keep scheduling and firing.
    await stopNode(started, lostPort);
    const lostKey = keyOfShard(timers, 'lost', 0);
    const lost = await timed(addIn(timers, lostKey, 100));
    expect(lost.error).toBeInstanceOf(TimersUnavailableError);
    expect(lost.ms).toBeLessThan(1500);
    const alive = kept.map(({ shard }) => keyOfShard(timers, 'alive', shard));
    for (const key of alive) {
      const result = await timed(addIn(timers, key, 100));
      expect(result.error).toBeUndefined();
    }
    expect(await until(() => alive.every((key) => firedKeys().includes(key)), 3000)).toBe(true);

    // 2. Every master goes away: once the loss is known, calls fail at once.
    await Promise.all(kept.map(({ port }) => stopNode(started, port)));
    const first = await timed(addIn(timers, 'during-1', 100));
    expect(first.error).toBeInstanceOf(TimersUnavailableError);
    expect(first.ms).toBeLessThan(1500);
    expect(await until(async () => (await timed(addIn(timers, 'probe', 100))).ms < 50, 3000)).toBe(true);
    for (const call of [addIn(timers, 'during-2', 100), timers.disarm('during-1', 1)]) {
      const result = await timed(call);
      expect(result.error).toBeInstanceOf(TimersUnavailableError);
      expect((result.error as Error).message).toMatch(/unreachable/);
      expect(result.ms).toBeLessThan(50);
    }
    // A process can shut down while the cluster is down.
    const closing = await timed(doomed.close());
    expect(closing.error).toBeUndefined();
    expect(closing.ms).toBeLessThan(3000);

    // 3. The masters come back (empty): producer and workers reconnect by themselves.
    await sleep(1500);
    await Promise.all([lostPort, ...new Set(kept.map(({ port }) => port))].map((port) => startNode(started, port)));
    const restartedAt = Date.now();
    expect(await until(() => clusterOk(started), 30_000, 100)).toBe(true);
    const convergedMs = Date.now() - restartedAt;
    const after = [0, 1, 2].map((shard) => keyOfShard(timers, 'after', shard));
    expect(await until(async () => (await timed(addIn(timers, after[0]!, 200))).error === undefined, 10_000, 100)).toBe(
      true,
    );
    const recoveredMs = Date.now() - restartedAt;
    for (const key of after.slice(1)) {
      await addIn(timers, key, 300);
    }
    await addIn(timers, 'after-cancelled', 300);
    await timers.disarm('after-cancelled', 1);

    // The workers from before the outage fire them, on every shard.
    expect(await until(() => after.every((key) => firedKeys().includes(key)), 10_000)).toBe(true);
    for (const { fire, at } of fired.filter((f) => after.includes(f.fire.key))) {
      expect(at).toBeGreaterThanOrEqual(due.get(fire.key)!);
      expect(at - due.get(fire.key)!).toBeLessThan(1000);
    }
    await sleep(500);
    for (const key of after) {
      expect(firedKeys().filter((k) => k === key)).toHaveLength(1);
    }
    // Nothing that was refused runs later (e.g. from a queue of the cluster client).
    for (const refused of ['after-cancelled', lostKey, 'during-1', 'during-2', 'probe']) {
      expect(firedKeys()).not.toContain(refused);
    }
    annotate(
      `one master lost: its shard failed in ${lost.ms} ms; all lost: first call failed in ${first.ms} ms; ` +
        `close during the outage took ${closing.ms} ms; cluster ok ${convergedMs} ms and schedule ` +
        `recovered ${recoveredMs} ms after the nodes started`,
    );

    // The outage was logged (throttled) and so was the recovery; no error-level noise.
    expect(lines.some((l) => l.level === 'warn' && l.msg === 'timers: Redis unreachable; retrying')).toBe(true);
    expect(lines.some((l) => l.level === 'info' && l.msg === 'timers: Redis reachable again')).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('fails fast and closes cleanly when no node was ever reachable', async () => {
    const timers = createBullmqTimers({
      redis: { cluster: [{ host: '127.0.0.1', port: await freePort() }] }, // nothing listens there
      queueName: 'never',
      shards: 3,
      logger: silent,
      connectTimeoutMs: 300,
    });
    const first = await timed(addIn(timers, 'tx', 100));
    expect(first.error).toBeInstanceOf(TimersUnavailableError);
    expect(first.ms).toBeGreaterThanOrEqual(250);
    expect(first.ms).toBeLessThan(1000);
    const cancel = await timed(timers.disarm('tx', 1));
    expect(cancel.error).toBeInstanceOf(TimersUnavailableError);
    expect(cancel.ms).toBeLessThan(1000);
    const started = await timed(timers.startWorker(async () => undefined));
    expect(started.error).toBeUndefined();
    expect(started.ms).toBeLessThan(1500);
    const closed = await timed(timers.close());
    expect(closed.error).toBeUndefined();
    expect(closed.ms).toBeLessThan(3000);
    expect(problems).toEqual([]);
  });

  it('refuses a cluster without seed nodes', () => {
    expect(() => createBullmqTimers({ redis: { cluster: [] }, logger: silent })).toThrow(RangeError);
  });
});
