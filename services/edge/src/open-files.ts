import { readFileSync } from 'node:fs';
import type { Logger } from '@sipedge/telemetry';

/** Descriptors the process needs besides its SIP connections: stdio, listeners, NATS, Redis, HTTP, libuv. */
export const RESERVED_DESCRIPTORS = 64;

/**
 * The process's soft limit on open files (RLIMIT_NOFILE) from `/proc/self/limits` (Node raises it
 * to the hard limit at start); undefined where that cannot be read (not Linux) or says unlimited.
 */
export function openFileLimit(
  read: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number | undefined {
  let limits: string;
  try {
    limits = read();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/**
 * Warns when the open-file limit leaves no room for `maxConnections` connections: the kernel would
 * then refuse connections (EMFILE) before the edge's own limit does, and other descriptors (NATS,
 * Redis, files) could fail with them.
 */
export function checkOpenFileLimit(maxConnections: number, logger: Logger, limit = openFileLimit()): void {
  if (limit === undefined || limit >= maxConnections + RESERVED_DESCRIPTORS) return;
  logger.warn(
    { openFileLimit: limit, maxConnections, reserved: RESERVED_DESCRIPTORS },
    'the open-file limit is below edge.maxConnections plus what the process needs itself: raise it (ulimit -n) or lower edge.maxConnections',
  );
}
