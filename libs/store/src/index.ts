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
  type RecordText,
  type RecordWrite,
  type RegisterOp,
  type RegisterResult,
  type RegistrationList,
  type RegistrationQuery,
  type StoredRecord,
  StoreUnavailableError,
  textOf,
  type UserTable,
} from './ports.js';
export type { Stores } from './stores.js';
export { createMemoryStores } from './memory-stores.js';
export { MemoryRecordStore } from './memory-records.js';
export { MemoryLocationStore } from './memory-location.js';
export { MemoryConnectionDirectory } from './memory-connections.js';
export { MemoryEdgeRegistry } from './memory-edges.js';
export { MemoryNonceStore } from './memory-nonces.js';
export { MemoryUserTable } from './memory-users.js';
export { MemoryDialogStore } from './memory-dialogs.js';
export { MemoryCaptureStore } from './memory-captures.js';
export { createRedisStores } from './redis-stores.js';
export { RedisRecordStore } from './redis-records.js';
export { RedisLocationStore } from './redis-location.js';
export { RedisConnectionDirectory } from './redis-connections.js';
export { RedisEdgeRegistry } from './redis-edges.js';
export { RedisNonceStore } from './redis-nonces.js';
export { RedisUserTable } from './redis-users.js';
export { RedisDialogStore } from './redis-dialogs.js';
export { RedisCaptureStore } from './redis-captures.js';
export { MemoryAbuseStore, type MemoryAbuseLimits } from './memory-abuse.js';
export { portStores, serveStoresOnPort } from './port-stores.js';
export type { RedisConnection, RedisClient } from './redis-client.js';
