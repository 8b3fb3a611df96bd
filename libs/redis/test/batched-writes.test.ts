import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisClient, type RedisClientOptions } from '../src/index.js';

/**
 * A throwaway redis-server on a Unix socket. CI installs redis-server (.ci/run); without it the
 * test is skipped locally and fails under CI.
 */
const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!haveRedisServer && process.env.CI === undefined)('the commands of one event-loop turn', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  let path: string;
  const open: Redis[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redis-batched-'));
    path = join(dir, 'redis.sock');
    server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        path,
        '--unixsocketperm',
        '700',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    const probe = await connected({ mode: 'blocking' });
    await probe.ping();
  });

  afterEach(() => {
    for (const client of open.splice(0)) client.disconnect();
  });

  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

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
