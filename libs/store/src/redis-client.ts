import { readFileSync } from 'node:fs';
import {
  OutageLogger,
  createRedisClient,
  isRedisUnavailable,
  type RedisClient,
  type RedisConnection,
} from '@sipedge/redis';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { StoreUnavailableError } from './ports.js';

export type { RedisClient, RedisConnection };

/**
 * Connects and waits until Redis answers. The client follows the shared fail-fast policy of
 * `@sipedge/redis` (no offline queue, no per-request retries, no resend after a drop) so callers
 * get StoreUnavailableError instead of waiting; it reconnects by itself with back-off, and its
 * errors are logged as outages (one warning when one starts, throttled repeats, one line at the end).
 */
export async function connectRedis(
  connection: RedisConnection,
  logger?: Logger,
  connectTimeoutMs = 10_000,
): Promise<RedisClient> {
  // A Cluster queues its own ready check while node connections come up; `guarded` still refuses
  // commands while the cluster is not ready, so nothing waits on an outage.
  const client = createRedisClient(connection, { mode: 'fail-fast', lazyConnect: true });
  new OutageLogger({ logger: logger ?? createLogger({ name: 'store' }), subject: 'store' }).watch(client);
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
 * Runs a Redis operation; failures that mean Redis is unavailable (not ready, dropped, refused,
 * CLUSTERDOWN, LOADING…: `isRedisUnavailable`) become StoreUnavailableError, script and other
 * reply errors are passed on.
 */
export async function guarded<T>(client: RedisClient, op: () => Promise<T>): Promise<T> {
  if (client.status !== 'ready') throw new StoreUnavailableError(`Redis is not available (${client.status})`);
  try {
    return await op();
  } catch (error) {
    if (!isRedisUnavailable(error)) throw error;
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
