import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStores } from '@sipedge/store';
import { storeContract } from '@sipedge/store/testing';
import { startRedis, type StartedRedis } from '../support/containers.js';
import { startRedisCluster, type StartedRedisCluster } from '../support/redis-cluster.js';

describe('Redis store adapters', () => {
  let redis: StartedRedis | undefined;
  storeContract('Redis (single node)', async () => {
    redis = await startRedis();
    const stores = await createRedisStores({ url: redis.url });
    return {
      ...stores,
      async close() {
        await stores.close();
        await redis?.container.stop();
      },
    };
  });

  let cluster: StartedRedisCluster | undefined;
  storeContract('Redis Cluster (three masters)', async () => {
    cluster = await startRedisCluster();
    const stores = await createRedisStores({ cluster: cluster.nodes });
    return {
      ...stores,
      async close() {
        await stores.close();
        await cluster?.container.stop();
      },
    };
  });
});

describe('Redis abuse state: key layout', () => {
  let redis: StartedRedis | undefined;
  let stores: Awaited<ReturnType<typeof createRedisStores>>;
  beforeAll(async () => {
    redis = await startRedis();
    stores = await createRedisStores({ url: redis.url });
  });
  afterAll(async () => {
    await stores?.close();
    await redis?.container.stop();
  });

  it('keeps counters and bans under the documented keys, with their TTLs', async () => {
    const { client, abuse } = stores;
    await abuse.addRequests(42, [['192.0.2.7', 3]], 10_000);
    expect(await client.hgetall('sipedge:pike:{42}')).toEqual({ '192.0.2.7': '3' });
    expect(await client.pttl('sipedge:pike:{42}')).toBeGreaterThan(9_000);
    await abuse.countFailures(['src:192.0.2.7'], 5_000);
    expect(await client.get('sipedge:authfail:{src:192.0.2.7}')).toBe('1');
    expect(await client.pttl('sipedge:authfail:{src:192.0.2.7}')).toBeGreaterThan(4_000);

    const now = Date.now();
    await abuse.ban({ address: '192.0.2.7', until: now + 60_000, reason: 'admin', createdAt: now });
    expect(await client.zscore('sipedge:{bans}:until', '192.0.2.7')).toBe(String(now + 60_000));
    expect(JSON.parse((await client.hget('sipedge:{bans}:info', '192.0.2.7'))!)).toMatchObject({ reason: 'admin' });
    expect(await client.get('sipedge:{bans}:version')).toBe('1');
  });

  it('removes ended bans from both the sorted set and the hash, however many', async () => {
    const { client, abuse } = stores;
    const now = Date.now();
    // More than Lua's unpack() takes at once (about 8000), so bans.lua must delete in chunks.
    const ended = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    await Promise.all(ended.map((address) => abuse.ban({ address, until: now - 1, reason: 'old', createdAt: now })));
    await abuse.ban({ address: '192.0.2.8', until: now + 60_000, reason: 'pike', createdAt: now });
    expect((await abuse.bans(now)).map((b) => b.address)).toEqual(['192.0.2.7', '192.0.2.8']);
    expect(await client.zrange('sipedge:{bans}:until', 0, -1)).toEqual(['192.0.2.7', '192.0.2.8']);
    expect((await client.hkeys('sipedge:{bans}:info')).sort()).toEqual(['192.0.2.7', '192.0.2.8']);
  });
});
