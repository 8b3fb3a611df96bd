import type { Writable } from 'node:stream';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './client.js';

const BATCHED = Symbol('sipedge.redis.batchedWrites');

type BatchedSocket = Writable & { [BATCHED]?: true };

/**
 * Makes every connection of `client` (each node's, for a Cluster) send the commands of one turn
 * of the event loop in one socket write: the socket is corked at the turn's first command and
 * uncorked at its end (setImmediate), when Node writes what it holds at once. ioredis writes each
 * command as it is issued, so a worker handling many calls made one write per command (a socket
 * write costs tens of microseconds on a VM, and Redis reads each one); a command now waits for the
 * end of the turn it was issued in. Nothing else changes: replies, timeouts and a dropped
 * connection (the commands it held fail with it) are ioredis's as before.
 */
export function batchWritesPerTurn(client: RedisClient): void {
  // Called on a client not yet connected; a Cluster creates each node's client before it connects.
  if (client instanceof Cluster) client.on('+node', (node: Redis) => batchNode(node));
  else batchNode(client);
}

/** A new socket on every (re)connection. */
function batchNode(node: Redis): void {
  node.on('connect', () => corkPerTurn(node.stream as BatchedSocket));
}

function corkPerTurn(socket: BatchedSocket): void {
  if (socket[BATCHED]) return;
  socket[BATCHED] = true;
  const write = socket.write;
  let corked = false;
  socket.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write.apply(this, args);
  } as Writable['write'];
}
