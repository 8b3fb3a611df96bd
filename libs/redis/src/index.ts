export {
  createRedisClient,
  reconnectDelay,
  RECONNECT_MAX_MS,
  type RedisClient,
  type RedisClientOptions,
  type RedisConnection,
  type RedisNode,
  type RedisTarget,
} from './client.js';
export { isRedisUnavailable } from './unavailable.js';
export { OutageLogger, OUTAGE_LOG_INTERVAL_MS, type OutageLoggerOptions } from './outage.js';
