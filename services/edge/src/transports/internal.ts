import type { Logger } from '@sipedge/telemetry';
import type { Endpoint } from './types.js';

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

/** Where a transport is in its life: new, then starting, then open; closed from any of them. */
export type TransportState = 'new' | 'starting' | 'open' | 'closed';

/** Reads and sets a transport's state (a private field of its own). */
export interface StateAccess {
  get(): TransportState;
  set(state: TransportState): void;
}

/**
 * Starts a new transport: opens every listen address at once, all or nothing. When one cannot be
 * opened, or the transport is closed meanwhile (no longer `starting`), those that were opened are
 * closed again, the transport is `closed` and this throws (the first failure, else `<transport>:
 * closed while starting`). Otherwise `adopt` takes them and the transport is `open`, in the same
 * turn as the check, so that a close() cannot come between.
 */
export async function openListeners<T>(
  transport: string,
  state: StateAccess,
  endpoints: readonly Endpoint[],
  open: (endpoint: Endpoint) => Promise<T>,
  close: (opened: T) => Promise<void>,
  adopt: (opened: T[]) => void,
): Promise<void> {
  if (state.get() !== 'new') throw new Error(`${transport}: start() called on a ${state.get()} transport`);
  state.set('starting');
  const results = await Promise.allSettled(endpoints.map(open));
  const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure || state.get() !== 'starting') {
    await Promise.all(opened.map(close));
    state.set('closed');
    throw failure ? failure.reason : new Error(`${transport}: closed while starting`);
  }
  adopt(opened);
  state.set('open');
}
