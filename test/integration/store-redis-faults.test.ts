import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError, createRedisStores, type Stores } from '@sipedge/store';
import { startContainerAgain, startRedis, stopContainer, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `op` until it succeeds or `timeoutMs` passes; returns how long it took. */
async function until(op: () => Promise<unknown>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await op();
      return Date.now() - start;
    } catch (error) {
      if (Date.now() - start > timeoutMs) throw error;
      await sleep(100);
    }
  }
}

describe('Redis store during a Redis outage', () => {
  let redis: StartedRedis;
  let stores: Stores;

  beforeAll(async () => {
    redis = await startRedis({ hostPort: await freePort() });
    stores = await createRedisStores({ url: redis.url });
  });

  afterAll(async () => {
    await stores?.close();
    await redis?.container.stop();
  });

  it('fails fast with StoreUnavailableError while Redis is down and recovers when it is back', async () => {
    const key = `{f${randomUUID()}}:tx`;
    expect((await stores.records.commit([{ key, expectedVersion: 0, value: 'before', ttlMs: 60_000 }])).ok).toBe(true);

    await stopContainer(redis.container);
    // Every kind of operation fails promptly with the typed error; none hangs.
    const operations: (() => Promise<unknown>)[] = [
      () => stores.records.load([key]),
      () => stores.records.commit([{ key, expectedVersion: 1, value: 'during', ttlMs: 60_000 }]),
      () => stores.locations.lookup('sip:a@b', Date.now()),
      () => stores.connections.register('flow', 'edge', 1000),
      () => stores.edges.live(Date.now()),
      () => stores.nonces.use('n', 1),
      () => stores.abuse.addRequests(1, [['192.0.2.7', 1]], 1000),
      () => stores.abuse.countFailures(['src:192.0.2.7'], 1000),
      () => stores.abuse.bans(Date.now()),
      () => stores.abuse.version(),
    ];
    for (const op of operations) {
      const started = Date.now();
      await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    await sleep(1500);
    await expect(stores.records.load([key])).rejects.toBeInstanceOf(StoreUnavailableError);

    await startContainerAgain(redis.container);
    const recovery = await until(() => stores.records.load([key]), 20_000);
    expect(recovery).toBeLessThan(20_000);
    // The test image keeps no data across a restart: the record is gone, and new writes work.
    const fresh = `{f${randomUUID()}}:tx`;
    expect(await stores.records.commit([{ key: fresh, expectedVersion: 0, value: 'after', ttlMs: 60_000 }])).toEqual({
      ok: true,
      versions: [1],
    });
    expect(await stores.records.load([fresh])).toEqual([{ value: 'after', version: 1 }]);
  });
});
