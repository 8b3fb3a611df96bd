import { createServer } from 'node:net';
import { Cluster, ReplyError } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, isRedisUnavailable, type RedisClient } from '../src/index.js';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);
const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });
const named = (message: string, name: string): Error => Object.assign(new Error(message), { name });

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('isRedisUnavailable', () => {
  it.each([
    // Socket errors, by code and by message.
    withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    withCode('write EPIPE', 'EPIPE'),
    withCode('getaddrinfo ENOTFOUND redis', 'ENOTFOUND'),
    withCode('getaddrinfo EAI_AGAIN redis', 'EAI_AGAIN'),
    withCode('connect EHOSTUNREACH 10.0.0.1:6379', 'EHOSTUNREACH'),
    withCode('connect ENETUNREACH 10.0.0.1:6379', 'ENETUNREACH'),
    new Error('connect ETIMEDOUT'),
    // ioredis, single server and Sentinel.
    new Error('Connection is closed.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    named(
      'Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.',
      'MaxRetriesPerRequestError',
    ),
    new Error('Command timed out'),
    new Error("Socket timeout. Expecting data, but didn't receive any in 1000ms."),
    new Error('All sentinels are unreachable. Retrying from scratch after 100ms.'),
    // ioredis Cluster.
    new Error("Cluster isn't ready and enableOfflineQueue options is false"),
    named('Failed to refresh slots cache.', 'ClusterAllFailedError'),
    new Error('None of startup nodes is available'),
    new Error('Cluster is ended.'),
    new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'),
    // BullMQ.
    named('Connection is closed', 'ConnectionClosedError'),
    // Replies that mean "not now".
    reply('CLUSTERDOWN The cluster is down'),
    reply('TRYAGAIN Multiple keys request during rehashing of slot'),
    reply('LOADING Redis is loading the dataset in memory'),
    reply('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no'),
    reply("READONLY You can't write against a read only replica."),
    reply('NOREPLICAS Not enough good replicas to write.'),
    reply("OOM command not allowed when used memory > 'maxmemory'."),
    reply('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'),
    // Wrapped: the cause decides.
    new Error('Redis operation failed', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }),
  ])('unavailable: $message', (error) => {
    expect(isRedisUnavailable(error)).toBe(true);
  });

  it.each([
    reply('ERR Error running script (call to f_0123): @user_script:1: user_script:1: oops'),
    reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    reply('NOSCRIPT No matching script. Please use EVAL.'),
    reply('BUSYGROUP Consumer Group name already exists'),
    reply('BUSYKEY Target key name already exists.'),
    reply('NOAUTH Authentication required.'),
    reply('WRONGPASS invalid username-password pair or user is disabled.'),
    reply('CROSSSLOT Keys in request do not hash to the same slot'),
    new Error('Missing key for job d/x/1. changeDelay'),
    new TypeError('Cannot read properties of undefined'),
    new RangeError('bad argument'),
  ])('not unavailable: $message', (error) => {
    expect(isRedisUnavailable(error)).toBe(false);
  });

  it('is false for what is not an Error', () => {
    for (const value of [
      undefined,
      null,
      'ECONNREFUSED',
      42,
      { message: 'Connection is closed', code: 'ECONNRESET' },
    ]) {
      expect(isRedisUnavailable(value)).toBe(false);
    }
  });

  describe('on the errors ioredis really raises', () => {
    const open: RedisClient[] = [];
    afterEach(() => {
      for (const client of open.splice(0)) client.disconnect();
    });

    it('a fail-fast client whose server refuses connections', async () => {
      const events: unknown[] = [];
      const client = createRedisClient({ url: `redis://127.0.0.1:${await closedPort()}` }, { mode: 'fail-fast' });
      open.push(client);
      client.on('error', (error: unknown) => events.push(error));
      const command = await client.get('k').catch((error: unknown) => error);
      await expect.poll(() => events.length).toBeGreaterThan(0);
      expect(command).toBeInstanceOf(Error);
      expect(isRedisUnavailable(command)).toBe(true);
      expect(events.every(isRedisUnavailable)).toBe(true);
    });

    it('a Cluster none of whose seed nodes answers', async () => {
      const events: unknown[] = [];
      const client = createRedisClient(
        { cluster: [{ host: '127.0.0.1', port: await closedPort() }] },
        { mode: 'fail-fast' },
      );
      open.push(client);
      expect(client).toBeInstanceOf(Cluster);
      client.on('error', (error: unknown) => events.push(error));
      await expect.poll(() => events.length).toBeGreaterThan(0);
      expect(events.every(isRedisUnavailable)).toBe(true);
    });
  });
});
