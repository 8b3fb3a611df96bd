import { readFileSync } from 'node:fs';
import { Cluster, Redis, ReplyError } from 'ioredis';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { StoreUnavailableError } from './ports.js';

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

export type RedisClient = Redis | Cluster;

/**
 * Connects and waits until Redis answers. Commands fail fast while disconnected (no offline queue,
 * no resend after a drop) so callers get StoreUnavailableError instead of waiting; the client
 * reconnects by itself with back-off.
 */
export async function connectRedis(
  connection: RedisConnection,
  logger?: Logger,
  connectTimeoutMs = 10_000,
): Promise<RedisClient> {
  const log = logger ?? createLogger({ name: 'store' });
  const failFast = { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false };
  const retryStrategy = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
  const single = { ...failFast, enableOfflineQueue: false, lazyConnect: true, retryStrategy };
  const client: RedisClient =
    'url' in connection
      ? new Redis(connection.url, single)
      : 'sentinels' in connection
        ? new Redis({
            ...single,
            sentinels: connection.sentinels,
            name: connection.name,
            sentinelRetryStrategy: retryStrategy,
            // A master demoted by a failover answers writes with READONLY: ask the Sentinels again.
            reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
          })
        : new Cluster(connection.cluster, {
            // The Cluster queues its own ready check while node connections come up; `guarded`
            // still refuses commands while the cluster is not ready, so nothing waits on an outage.
            enableOfflineQueue: true,
            lazyConnect: true,
            clusterRetryStrategy: retryStrategy,
            redisOptions: failFast,
          });
  let lastError = '';
  client.on('error', (error: Error) => {
    // Logged once per distinct message: a Redis outage repeats the same error at every retry.
    if (error.message !== lastError) log.warn({ err: error }, 'redis connection error');
    lastError = error.message;
  });
  client.on('ready', () => {
    lastError = '';
  });
  try {
    await whenReady(client, connectTimeoutMs);
  } catch (error) {
    client.disconnect();
    throw new StoreUnavailableError(`cannot connect to Redis: ${(error as Error).message}`, { cause: error });
  }
  return client;
}

/**
 * Resolves on the client's first 'ready'. ioredis' own connect() promise can stay pending when the
 * first attempt fails and it reconnects (e.g. a Cluster whose state is not yet ok), so readiness is
 * taken from the event, with a deadline.
 */
function whenReady(client: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect().catch(() => {
      // Failures are retried by the client; the deadline above decides.
    });
  });
}

/**
 * Runs a Redis operation; connection failures (not ready, dropped, refused) become
 * StoreUnavailableError, script and reply errors are passed on.
 */
export async function guarded<T>(client: RedisClient, op: () => Promise<T>): Promise<T> {
  if (client.status !== 'ready') throw new StoreUnavailableError(`Redis is not available (${client.status})`);
  try {
    return await op();
  } catch (error) {
    if (error instanceof ReplyError && !/CLUSTERDOWN|TRYAGAIN|LOADING/.test((error as Error).message)) throw error;
    throw new StoreUnavailableError(`Redis operation failed: ${(error as Error).message}`, { cause: error });
  }
}

type ScriptRunner = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

/** A Lua script from `libs/store/lua/`, registered on the client (EVALSHA with EVAL fallback). */
export function loadScript(client: RedisClient, file: string): ScriptRunner {
  const name = `sipedge_${file.replace(/\W/g, '_')}`;
  if (!(name in client)) {
    client.defineCommand(name, { lua: readFileSync(new URL(`../lua/${file}`, import.meta.url), 'utf8') });
  }
  const runner = (client as unknown as Record<string, ScriptRunner>)[name]!;
  return runner.bind(client);
}
