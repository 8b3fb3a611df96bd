export {
  type AbuseStore,
  type Ban,
  type Binding,
  type BindingUpdate,
  type CapturedCall,
  type CapturedSipMessage,
  type CaptureFacts,
  type CaptureLimits,
  type CaptureStore,
  type CommitResult,
  type ConnectionDirectory,
  type DialogInfo,
  type DialogStore,
  type EdgeRegistry,
  type LocationStore,
  type NonceCheck,
  type NonceStore,
  type RecordStore,
  type RecordWrite,
  type RegisterOp,
  type RegisterResult,
  type RegistrationList,
  type RegistrationQuery,
  type StoredRecord,
  StoreUnavailableError,
  type UserTable,
} from './ports.js';
export type { Stores } from './stores.js';
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
export { portStores, serveStoresOnPort } from './port-stores.js';
export type { RedisConnection, RedisClient } from './redis-client.js';
