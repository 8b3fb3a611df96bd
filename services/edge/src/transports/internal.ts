import type { Logger } from '@sipedge/telemetry';

/**
 * Calls a handler callback so that an exception in the core never escapes into a socket event
 * listener (where it would crash the process): it is logged and the transport goes on.
 */
export function callHandler(logger: Logger, callback: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    logger.error({ err: error, callback }, 'transport: handler threw');
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
