import type { Logger } from '@sipedge/telemetry';
import { RedisAbuseStore } from './redis-abuse.js';
import { RedisCaptureStore } from './redis-captures.js';
import { type RedisClient, type RedisConnection, connectRedis } from './redis-client.js';
import { RedisConnectionDirectory } from './redis-connections.js';
import { RedisDialogStore } from './redis-dialogs.js';
import { RedisEdgeRegistry } from './redis-edges.js';
import { RedisLocationStore } from './redis-location.js';
import { RedisNonceStore } from './redis-nonces.js';
import { RedisRecordStore } from './redis-records.js';
import { RedisUserTable } from './redis-users.js';
import type { Stores } from './stores.js';

/** Every store port on one Redis connection (single server or Cluster). */
export async function createRedisStores(
  connection: RedisConnection,
  logger?: Logger,
): Promise<Stores & { client: RedisClient }> {
  const client = await connectRedis(connection, logger);
  return {
    client,
    records: new RedisRecordStore(client),
    locations: new RedisLocationStore(client),
    connections: new RedisConnectionDirectory(client),
    edges: new RedisEdgeRegistry(client),
    nonces: new RedisNonceStore(client),
    users: new RedisUserTable(client),
    dialogs: new RedisDialogStore(client),
    captures: new RedisCaptureStore(client),
    abuse: new RedisAbuseStore(client),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
