import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisClient, type RedisClientOptions } from '../src/index.js';
import { haveRedisServer, startRedisServer, type ThrowawayRedis } from '../src/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!haveRedisServer && process.env.CI === undefined)('the commands of one event-loop turn', () => {
  let server: ThrowawayRedis;
  let path: string;
  const open: Redis[] = [];

  beforeAll(async () => {
    server = await startRedisServer('redis-batched');
    path = server.socket;
  });

  afterEach(() => {
    for (const client of open.splice(0)) client.disconnect();
  });

  afterAll(() => server?.stop());

  async function connected(options: RedisClientOptions): Promise<Redis> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = createRedisClient({ path }, { ...options, lazyConnect: true }) as Redis;
      client.on('error', () => undefined); // until redis-server listens
      try {
        await client.connect();
        open.push(client);
        return client;
      } catch (error) {
        client.disconnect();
        if (Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  }

  /** Socket writes the client makes while 20 callbacks of one turn each send a command; the replies. */
  async function writesOfOneTurn(client: Redis): Promise<{ writes: number; replies: (string | null)[] }> {
    const socket = client.stream as Socket;
    const single = vi.spyOn(socket, '_write');
    const gathered = vi.spyOn(socket, '_writev');
    const replies = await new Promise<Promise<string | null>[]>((resolve) => {
      const sent: Promise<string | null>[] = [];
      for (let i = 0; i < 20; i++) {
        setImmediate(() => {
          sent.push(client.echo(`reply ${i}`));
          if (sent.length === 20) resolve(sent);
        });
      }
    });
    const answered = await Promise.all(replies);
    const writes = single.mock.calls.length + gathered.mock.calls.length;
    single.mockRestore();
    gathered.mockRestore();
    return { writes, replies: answered };
  }

  const expected = Array.from({ length: 20 }, (_, i) => `reply ${i}`);

  it('leave a fail-fast client in one socket write, each command answered', async () => {
    const client = await connected({ mode: 'fail-fast' });
    expect(await writesOfOneTurn(client)).toEqual({ writes: 1, replies: expected });
  });

  it('leave in one socket write on the new connection after a reconnection', async () => {
    const client = await connected({ mode: 'fail-fast' });
    const first = client.stream;
    first.destroy();
    await vi.waitFor(() => expect(client.stream !== first && client.status === 'ready').toBe(true), {
      timeout: 5000,
      interval: 10,
    });
    expect(await writesOfOneTurn(client)).toEqual({ writes: 1, replies: expected });
  });

  it('leave a blocking client (BullMQ workers) one by one, as ioredis writes them', async () => {
    const client = await connected({ mode: 'blocking' });
    expect(await writesOfOneTurn(client)).toEqual({ writes: 20, replies: expected });
  });
});
