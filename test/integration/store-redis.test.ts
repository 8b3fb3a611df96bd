import { describe } from 'vitest';
import { createRedisStores } from '@sipedge/store';
import { storeContract } from '../../libs/store/test/contract.js';
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
