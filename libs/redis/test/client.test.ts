import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RECONNECT_MAX_MS, createRedisClient, reconnectDelay, type RedisClient } from '../src/index.js';

describe('reconnectDelay', () => {
  it('starts at 100 ms, doubles, and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelay(attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(reconnectDelay(1_000)).toBe(RECONNECT_MAX_MS);
    expect([1, 5, 6, 7, 50].map((attempt) => reconnectDelay(attempt, 5000))).toEqual([100, 1600, 3200, 5000, 5000]);
    expect(reconnectDelay(3, 250)).toBe(250);
  });
});

describe('createRedisClient', () => {
  const open: RedisClient[] = [];
  const make = (...args: Parameters<typeof createRedisClient>): RedisClient => {
    const client = createRedisClient(args[0], { lazyConnect: true, ...args[1] });
    open.push(client);
    return client;
  };
  afterEach(() => {
    for (const client of open.splice(0)) client.disconnect();
  });

  it('fail-fast, one server: no offline queue, no per-request retry, no resend, the command timeout', () => {
    const client = make(
      { url: 'redis://127.0.0.1:6390/2' },
      { mode: 'fail-fast', commandTimeoutMs: 1500, connectionName: 'p' },
    );
    expect(client).toBeInstanceOf(Redis);
    expect((client as Redis).options).toMatchObject({
      host: '127.0.0.1',
      port: 6390,
      db: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 1500,
      connectionName: 'p',
      lazyConnect: true,
    });
    expect((client as Redis).options.retryStrategy?.(3)).toBe(400);
  });

  it('blocking, one server: what BullMQ workers need', () => {
    const client = make({ url: 'redis://127.0.0.1:6390' }, { mode: 'blocking', reconnectMaxMs: 300 });
    const options = (client as Redis).options;
    expect(options).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    expect(options.commandTimeout).toBeUndefined();
    expect(options.retryStrategy?.(10)).toBe(300);
  });

  it('ioredis options of one server: theirs first, the mode wins, their retryStrategy kept', () => {
    const own = () => 42;
    const client = make(
      { host: '127.0.0.1', port: 6391, password: 'secret', enableOfflineQueue: true, retryStrategy: own },
      { mode: 'fail-fast' },
    );
    expect((client as Redis).options).toMatchObject({ port: 6391, password: 'secret', enableOfflineQueue: false });
    expect((client as Redis).options.retryStrategy).toBe(own);
  });

  it('Sentinels: the shared back-off for them too, and a reconnect on READONLY', () => {
    const client = make(
      { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' },
      { mode: 'fail-fast', reconnectMaxMs: 500 },
    );
    const options = (client as Redis).options;
    expect(options).toMatchObject({ name: 'mymaster', enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    expect(options.sentinelRetryStrategy?.(9)).toBe(500);
    const reconnectOnError = options.reconnectOnError as (error: Error) => boolean;
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(reconnectOnError(new Error('ERR unknown command'))).toBe(false);
  });

  it('Cluster, fail-fast with a command timeout: the cluster queues its ready check, nothing is retried', () => {
    const client = make({ cluster: [{ host: '127.0.0.1', port: 7000 }] }, { mode: 'fail-fast', commandTimeoutMs: 700 });
    expect(client).toBeInstanceOf(Cluster);
    const options = (client as Cluster).options;
    expect(options).toMatchObject({
      enableOfflineQueue: true,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      redisOptions: { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: 700 },
    });
    expect(options.clusterRetryStrategy?.(1, new Error('x'))).toBe(100);
  });

  it('Cluster, fail-fast without a command timeout: a command that meets a failover is retried, its caller waiting', () => {
    const options = (make({ cluster: [{ host: '127.0.0.1', port: 7000 }] }, { mode: 'fail-fast' }) as Cluster).options;
    expect(options.redisOptions).toMatchObject({ maxRetriesPerRequest: 0 });
    expect(options.retryDelayOnFailover).toBeGreaterThan(0);
    expect(options.retryDelayOnClusterDown).toBeGreaterThan(0);
  });

  it('Cluster, blocking: node connections wait (maxRetriesPerRequest null), cluster retries kept', () => {
    const options = (make({ cluster: [{ host: '127.0.0.1', port: 7000 }] }, { mode: 'blocking' }) as Cluster).options;
    expect(options.redisOptions).toMatchObject({ maxRetriesPerRequest: null });
    expect(options.retryDelayOnClusterDown).toBeGreaterThan(0);
  });

  it('refuses a Cluster without seed nodes', () => {
    expect(() => createRedisClient({ cluster: [] }, { mode: 'fail-fast' })).toThrow(RangeError);
  });
});
