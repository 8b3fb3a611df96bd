import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { batchWritesPerTurn } from './batched-writes.js';

/**
 * Where Redis is: one server (`redis://host:port/db`), the seed nodes of a Redis Cluster, or the
 * Sentinels that watch the master group `name` (the client asks them for the current master and
 * follows a failover).
 */
export type RedisConnection = { url: string } | { cluster: RedisNode[] } | { sentinels: RedisNode[]; name: string };

export interface RedisNode {
  host: string;
  port: number;
}

/**
 * A {@link RedisConnection}, or ioredis options of one server (host, port, password, TLS…; with
 * `sentinels` and `name`, of a master group behind Sentinels).
 */
export type RedisTarget = RedisConnection | RedisOptions;

export type RedisClient = Redis | Cluster;

/** Default upper bound of the reconnect interval. */
export const RECONNECT_MAX_MS = 1000;

/**
 * The reconnect back-off of every client (ioredis `retryStrategy`, `clusterRetryStrategy`,
 * `sentinelRetryStrategy`): 100 ms after the first failed attempt, doubling, at most `maxMs`. A
 * short cap is deliberate: an outage is noticed by callers at once (fail fast), so what matters is
 * how soon the service is back once Redis is.
 */
export function reconnectDelay(attempt: number, maxMs = RECONNECT_MAX_MS): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt, 1), 10), maxMs);
}

export interface RedisClientOptions {
  /**
   * - `fail-fast` (commands of a request path, BullMQ producers): no offline queue, no per-request
   *   retries, no resend after a drop, and
   *   `commandTimeoutMs`: a command fails at once while Redis is unreachable, and a command that
   *   failed never runs later. The commands of one turn of the event loop leave in one socket
   *   write (batched-writes.ts).
   * - `blocking` (BullMQ workers and their blocking connections): `maxRetriesPerRequest: null`
   *   (BullMQ requires it), offline queue on, no command timeout (it would break `BZPOPMIN`):
   *   commands wait for the reconnection.
   */
  mode: 'fail-fast' | 'blocking';
  /** Bound on a command that gets no answer (`fail-fast` only); default none. */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnect interval ({@link reconnectDelay}); default {@link RECONNECT_MAX_MS}. */
  reconnectMaxMs?: number;
  /** Redis `CLIENT SETNAME`. */
  connectionName?: string;
  /** Do not connect before the first command or `connect()`; default false. */
  lazyConnect?: boolean;
}

/**
 * Makes a client with the shared connection policy (see {@link RedisClientOptions.mode}); it
 * reconnects by itself with {@link reconnectDelay}, and emits 'error' events that the caller
 * should hand to an {@link OutageLogger}. With ioredis options of one server, their settings come
 * first (their own `retryStrategy` included) and the mode's win.
 *
 * A Cluster keeps its cluster-level offline queue in both modes: ioredis sends its own ready check
 * (`CLUSTER INFO`) before the cluster is ready, and without the queue that check fails while the
 * node connections come up, so the client never gets ready. Fail-fast then comes from elsewhere:
 * callers refuse commands unless the client is ready, node connections have no per-request retries,
 * and the command timeout bounds the rest. A command that meets a failover (its node's connection
 * closed, or CLUSTERDOWN) is retried by ioredis after 100 ms against the refreshed slot map while
 * its caller still waits for it (no command timeout: the store); with a command timeout (the
 * timers' producer) it is not, since the caller may already have been told it failed. MOVED/ASK
 * are followed. The mode's settings apply to
 * each node connection (`redisOptions`); no per-node options (password, TLS) yet.
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const retryStrategy = (attempt: number) => reconnectDelay(attempt, options.reconnectMaxMs);
  const failFast = options.mode === 'fail-fast';
  const perRequest: RedisOptions = failFast
    ? {
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: options.commandTimeoutMs || undefined,
      }
    : { maxRetriesPerRequest: null, commandTimeout: undefined };
  if (options.connectionName !== undefined) perRequest.connectionName = options.connectionName;
  const lazyConnect = options.lazyConnect ?? false;
  const batched = <T extends RedisClient>(client: T): T => {
    if (failFast) batchWritesPerTurn(client);
    return client;
  };

  if ('cluster' in target) {
    if (!Array.isArray(target.cluster) || target.cluster.length === 0) {
      throw new RangeError('redis.cluster: expected at least one seed node');
    }
    const clusterOptions: ClusterOptions = {
      clusterRetryStrategy: retryStrategy,
      // A command whose caller a command timeout may already have told it failed is never retried
      // after a failover: the retry would wait in the offline queue and run once the cluster is back.
      ...(failFast && options.commandTimeoutMs ? { retryDelayOnFailover: 0, retryDelayOnClusterDown: 0 } : {}),
      enableOfflineQueue: true,
      lazyConnect,
      // Node connections always queue until connected and never reconnect (ioredis Cluster's own
      // rules); the cluster as a whole reconnects with `clusterRetryStrategy`.
      redisOptions: perRequest,
    };
    return batched(
      new Cluster(
        target.cluster.map(({ host, port }) => ({ host, port })),
        clusterOptions,
      ),
    );
  }

  const mode: RedisOptions = { ...perRequest, enableOfflineQueue: !failFast, lazyConnect };
  if ('url' in target) return batched(new Redis(target.url, { retryStrategy, ...mode }));
  const sentinel: RedisOptions =
    target.sentinels === undefined
      ? {}
      : {
          sentinelRetryStrategy: retryStrategy,
          // A master demoted by a failover answers writes with READONLY: ask the Sentinels again.
          reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
        };
  return batched(new Redis({ retryStrategy, ...sentinel, ...target, ...mode }));
}
