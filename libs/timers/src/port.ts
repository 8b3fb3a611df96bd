/**
 * Durable deadlines: one pending job per record (a call record's earliest deadline that must
 * survive the process: Timers B, C, F, H, a decision, an INVITE's Expires), which any process
 * running a timer worker may fire (BullMQ in production, an in-memory twin in standalone mode).
 *
 * A deadline is identified by (key, seq). The record says which seq it armed: a fire whose seq is
 * not the record's is stale, and a deadline that cannot be moved (it is firing right now) is
 * replaced by adding the next seq. Moving a pending deadline earlier or later keeps its seq.
 */
export interface TimerFire {
  /** The record the deadline belongs to. */
  readonly key: string;
  /** Which of the record's deadlines this is. */
  readonly seq: number;
}

/** Handles a fire; a thrown error is logged and the fire is retried (at least once delivery). */
export type TimerHandler = (fire: TimerFire) => Promise<void>;

export interface TimerService {
  /** Adds deadline (key, seq) due at `dueAt` (epoch ms); a no-op when it exists (the first due time wins). */
  add(key: string, seq: number, dueAt: number): Promise<void>;
  /**
   * Moves pending deadline (key, seq) to `dueAt`, earlier or later. Resolves false, and changes
   * nothing, when it is not pending: firing, fired, or never added (the caller adds seq + 1).
   */
  move(key: string, seq: number, dueAt: number): Promise<boolean>;
  /** Removes deadline (key, seq); a no-op if it is firing, has fired, or never existed. */
  disarm(key: string, seq: number): Promise<void>;
  /** Starts taking due fires in this process (any process may fire any deadline). */
  startWorker(handler: TimerHandler): Promise<void>;
  /** Stops the worker (fires in progress finish) and closes connections. */
  close(): Promise<void>;
}

/** The timer store is unreachable; the operation was not performed. */
export class TimersUnavailableError extends Error {
  override name = 'TimersUnavailableError';
}
