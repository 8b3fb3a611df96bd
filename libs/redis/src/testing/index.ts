import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Whether this machine has `redis-server` (CI installs it: .ci/run; tests without it skip locally only). */
export const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A throwaway redis-server for a test file. */
export interface ThrowawayRedis {
  /** Its Unix socket (no port to find): ioredis `{ path }`. */
  readonly socket: string;
  /** Kills it and removes its directory. */
  stop(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a redis-server on a Unix socket, without persistence, and resolves once it answers PING. */
export async function startRedisServer(name: string): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const socket = join(dir, 'redis.sock');
  const server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
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
  const stop = (): void => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (existsSync(socket)) {
      const probe = new Redis({ path: socket, lazyConnect: true, retryStrategy: () => null });
      const pong = await probe.ping().catch(() => undefined);
      probe.disconnect();
      if (pong === 'PONG') return { socket, stop };
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error(`redis-server did not start on ${socket}`);
    }
    await sleep(50);
  }
}
