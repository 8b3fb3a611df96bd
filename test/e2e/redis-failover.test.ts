/**
 * Redis that fails over (issue 16 item 6): a distributed deployment (two edges, two workers, NATS)
 * on a real Redis Cluster of three masters, each with a replica (`REDIS_CLUSTER`, the deadlines
 * spread over three queues), takes SIPp calls over UDP; under load the master holding the most
 * call records is SIGKILLed. Its replica is promoted after `cluster-node-timeout`; meanwhile the
 * events of the calls whose records live there fail fast and SIPp's retransmissions carry most
 * of them over the gap. Replication is asynchronous, so what the old master had not yet sent to
 * its replica is lost with it: the test measures and prints what the failover cost, requires it to
 * be small, and then requires every call of a new burst to succeed.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distributed } from '../support/deployment.js';
import { startRedisCluster, type StartedRedisCluster } from '../support/redis-cluster.js';
import { summary } from '../support/sipp.js';
import { authEnv, call, expectAllSucceeded, registeredCallee } from './common.js';

const NODE_TIMEOUT_MS = 2000;
const RATE = 20;
const CALLS = 500;
const USERS = ['failover', 'after-failover'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster's view from `port`: each node's port, role and (for a replica) its master's port. */
async function clusterNodes(port: number): Promise<{ port: number; master: boolean; of?: number }[]> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const lines = ((await client.call('CLUSTER', 'NODES')) as string).trim().split('\n');
    const fields = lines.map((line) => line.split(' '));
    const portOf = new Map(fields.map((f) => [f[0]!, Number(/:(\d+)@/.exec(f[1]!)![1])]));
    return fields
      .filter((f) => !f[2]!.includes('fail'))
      .map((f) => ({
        port: portOf.get(f[0]!)!,
        master: f[2]!.includes('master'),
        ...(f[3] === '-' ? {} : { of: portOf.get(f[3]!)! }),
      }));
  } finally {
    client.disconnect();
  }
}

/** How many call records (`sipedge:call:*`) the node on `port` holds. */
async function callRecordsOn(port: number): Promise<number> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    let count = 0;
    for await (const keys of client.scanStream({ match: 'sipedge:call:*', count: 1000 })) {
      count += (keys as string[]).length;
    }
    return count;
  } finally {
    client.disconnect();
  }
}

describe('a Redis Cluster master SIGKILLed under load', () => {
  let cluster: StartedRedisCluster;
  let d: Distributed;

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
    d = await Distributed.start({
      env: authEnv(USERS),
      redisEnv: {
        REDIS_CLUSTER: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
        SIPEDGE_TIMER_SHARDS: '3',
      },
    });
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
    await cluster?.container.stop();
  });

  it('costs only calls of the outage, and every call after the failover succeeds', async () => {
    const callee = await registeredCallee({
      target: d.target,
      scenario: 'uas-answer',
      user: 'failover',
      transport: 'udp',
      calls: CALLS,
      pauseMs: 1000,
      timeoutS: CALLS / RATE + 60,
    });
    const caller = call(d.target, 'udp', 'failover', { calls: CALLS, rate: RATE, pauseMs: 500, timeoutS: 90 });
    await sleep(10_000);

    const seed = cluster.nodes[0]!.port;
    const nodes = await clusterNodes(seed);
    const masters = nodes.filter((n) => n.master);
    expect(masters).toHaveLength(3);
    const records = await Promise.all(masters.map((m) => callRecordsOn(m.port)));
    const victim = masters[records.indexOf(Math.max(...records))]!;
    const replica = nodes.find((n) => n.of === victim.port);
    expect(replica, 'the victim has a replica').toBeDefined();
    const killedAt = Date.now();
    await cluster.kill(victim.port);
    let promotedAt: number | undefined;
    while (promotedAt === undefined && Date.now() - killedAt < 30_000) {
      const survivor = nodes.find((n) => n.port !== victim.port)!.port;
      const view = await clusterNodes(survivor);
      if (view.some((n) => n.port === replica!.port && n.master)) promotedAt = Date.now();
      else await sleep(100);
    }
    expect(promotedAt, 'the replica was promoted').toBeDefined();
    const failoverS = (promotedAt! - killedAt) / 1000;

    const placed = await caller;
    callee.process.kill('SIGTERM');
    await callee.done;
    process.stdout.write(
      `${summary('redis failover', placed)}; the killed master held ${Math.max(...records)} of ${records.reduce((a, b) => a + b, 0)} call records; replica promoted after ${failoverS.toFixed(1)} s\n`,
    );
    expect(placed.created).toBe(CALLS);
    // Never more than the outage could touch, and at most 10% of the calls. Measured in CI: 1 to 28
    // of 500 with the replica promoted after 3.3–4.8 s (docs/deployment.md); the callers'
    // retransmissions carry most calls over the gap. Why the cost varies that much is not known.
    const bound = Math.min(CALLS * 0.1, Math.ceil(RATE * (failoverS + 2)));
    expect(placed.failed).toBeLessThanOrEqual(bound);
    expect(placed.succeeded).toBeGreaterThanOrEqual(CALLS - bound);

    const next = await registeredCallee({
      target: d.target,
      scenario: 'uas-answer',
      user: 'after-failover',
      transport: 'udp',
      calls: 40,
      pauseMs: 200,
      timeoutS: 30,
    });
    const after = await call(d.target, 'udp', 'after-failover', { calls: 40, rate: RATE, pauseMs: 200, timeoutS: 30 });
    expectAllSucceeded('after the redis failover', [after, await next.done]);
  }, 240_000);
});
