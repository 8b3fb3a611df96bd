/**
 * Durable timers: RFC 3261 timers as delayed jobs that any process running a timer worker may fire
 * (BullMQ in production, an in-memory twin in standalone mode). A job is identified by
 * (key, timer, generation): scheduling it twice is a no-op, and the handler ignores generations
 * that are no longer current (the transaction records which one is armed).
 */
export interface TimerFire {
  /** The record the timer belongs to (e.g. a transaction key). */
  readonly key: string;
  /** Timer name (A–M, C, or a service timer). */
  readonly timer: string;
  readonly generation: number;
  /** Epoch ms at which the timer was due; `Date.now() - dueAt` is its lateness. */
  readonly dueAt: number;
}

/** Handles a fire; a thrown error is logged and the fire is retried (at least once delivery). */
export type TimerHandler = (fire: TimerFire) => Promise<void>;

export interface TimerService {
  /** Schedules a fire in `delayMs`; idempotent for the same (key, timer, generation). */
  schedule(key: string, timer: string, delayMs: number, generation: number): Promise<void>;
  /** Removes a scheduled fire; a no-op if it already fired or never existed. */
  cancel(key: string, timer: string, generation: number): Promise<void>;
  /** Starts taking due fires in this process (any process may fire any timer). */
  startWorker(handler: TimerHandler): Promise<void>;
  /** Stops the worker (fires in progress finish) and closes connections. */
  close(): Promise<void>;
}

/** The timer store is unreachable; the operation was not performed. */
export class TimersUnavailableError extends Error {
  override name = 'TimersUnavailableError';
}
