import { createServer } from 'node:net';
import { captureLogs } from '@sipedge/telemetry';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/index.js';
import { connectRedis, guarded, type RedisClient } from '../src/redis-client.js';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);
const ready = { status: 'ready' } as RedisClient;

describe('guarded', () => {
  it('refuses at once while the client is not ready', async () => {
    let ran = false;
    const op = async () => {
      ran = true;
    };
    await expect(guarded({ status: 'reconnecting' } as RedisClient, op)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ran).toBe(false);
  });

  it.each([
    new Error('Connection is closed.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    reply('CLUSTERDOWN The cluster is down'),
    reply('TRYAGAIN Multiple keys request during rehashing of slot'),
    reply('LOADING Redis is loading the dataset in memory'),
    reply("READONLY You can't write against a read only replica."),
  ])('turns "Redis is unavailable" into StoreUnavailableError, with the cause: $message', async (error) => {
    const failure = await guarded(ready, () => Promise.reject(error)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).cause).toBe(error);
  });

  it.each([
    reply('ERR Error running script (call to f_0123): @user_script:1: oops'),
    reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    new TypeError('not a connection problem'),
  ])('passes other errors on as they are: $message', async (error) => {
    await expect(guarded(ready, () => Promise.reject(error))).rejects.toBe(error);
  });
});

describe('connectRedis', () => {
  it('gives up after connectTimeoutMs with StoreUnavailableError, logging the outage once', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const { lines, logger } = captureLogs('store-test', 'debug');

    const started = Date.now();
    const failure = await connectRedis({ url: `redis://127.0.0.1:${port}` }, logger, 700).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).cause).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(2000);
    // Several refused attempts in 700 ms (100, 200, 400 ms apart), one warning.
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'store: Redis unreachable; retrying']]);
  });
});
