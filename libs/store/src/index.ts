export * from './ports.js';
export type { Stores } from './stores.js';
export { hashTag, assertOneSlot, storeKeys } from './keys.js';
export {
  createMemoryStores,
  MemoryRecordStore,
  MemoryLocationStore,
  MemoryConnectionDirectory,
  MemoryEdgeRegistry,
  MemoryNonceStore,
  MemoryUserTable,
  MemoryDialogStore,
  MemoryCaptureStore,
} from './memory.js';
export {
  createRedisStores,
  RedisRecordStore,
  RedisLocationStore,
  RedisConnectionDirectory,
  RedisEdgeRegistry,
  RedisNonceStore,
  RedisUserTable,
  RedisDialogStore,
  RedisCaptureStore,
} from './redis.js';
export { MemoryAbuseStore, type MemoryAbuseLimits } from './memory-abuse.js';
export { RedisAbuseStore } from './redis-abuse.js';
export { portStores, serveStoresOnPort, type ServedStores } from './port-stores.js';
export { connectRedis, type RedisConnection, type RedisClient } from './redis-client.js';
