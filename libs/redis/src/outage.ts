import type { EventEmitter } from 'node:events';
import type { Logger } from '@sipedge/telemetry';
import { isRedisUnavailable } from './unavailable.js';

/** Default interval between two warnings of one outage. */
export const OUTAGE_LOG_INTERVAL_MS = 10_000;

export interface OutageLoggerOptions {
  logger: Logger;
  /** Who speaks, the start of each message (`store`, `timers`). */
  subject: string;
  /** Fields added to every line (e.g. `{ queue }`). */
  fields?: Record<string, unknown>;
  /** At most one warning (and one line per distinct other error) per interval; default 10 s. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Logs a Redis outage as a few lines instead of one per reconnect attempt:
 *
 * - `warn` `<subject>: Redis unreachable; retrying` when an outage starts (the first error that
 *   {@link isRedisUnavailable} classifies as such), then at most once per `intervalMs` while it
 *   lasts, each with `outageMs` so far and the last error;
 * - `info` `<subject>: Redis reachable again` with `outageMs` when a connection is ready again;
 * - `error` `<subject>: error` for any other error (a wrong password, a script error in an
 *   event…), the same message at most once per `intervalMs`, since ioredis repeats it at every
 *   reconnect.
 *
 * One logger may watch several clients of one component (a producer and its workers): they share
 * one outage, ended by the first client that is ready again.
 */
export class OutageLogger {
  readonly #logger: Logger;
  readonly #subject: string;
  readonly #fields: Record<string, unknown>;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #outageSince: number | undefined;
  #lastWarning = 0;
  #lastOther: { message: string; at: number } | undefined;

  constructor(options: OutageLoggerOptions) {
    this.#logger = options.logger;
    this.#subject = options.subject;
    this.#fields = options.fields ?? {};
    this.#intervalMs = options.intervalMs ?? OUTAGE_LOG_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Whether an outage is in progress (an unavailability error since the last recovery). */
  get inOutage(): boolean {
    return this.#outageSince !== undefined;
  }

  /** Logs the 'error' events of `client` and ends the outage on its 'ready' events. */
  watch(client: Pick<EventEmitter, 'on'>, fields: Record<string, unknown> = {}): void {
    client.on('error', (error: unknown) => this.error(error, fields));
    client.on('ready', () => this.recovered(fields));
  }

  /** An error: part of an outage if Redis is unavailable, logged at `error` level otherwise. */
  error(error: unknown, fields: Record<string, unknown> = {}): void {
    const now = this.#now();
    if (!isRedisUnavailable(error)) {
      const message = error instanceof Error ? error.message : String(error);
      const last = this.#lastOther;
      if (last?.message === message && now - last.at < this.#intervalMs) return;
      this.#lastOther = { message, at: now };
      this.#logger.error({ err: error, ...this.#fields, ...fields }, `${this.#subject}: error`);
      return;
    }
    if (this.#outageSince === undefined) {
      this.#outageSince = now;
      this.#lastWarning = now - this.#intervalMs; // the start of an outage is always logged
    }
    if (now - this.#lastWarning < this.#intervalMs) return;
    this.#lastWarning = now;
    this.#logger.warn(
      { err: error, ...this.#fields, ...fields, outageMs: now - this.#outageSince },
      `${this.#subject}: Redis unreachable; retrying`,
    );
  }

  /** A connection is ready: ends the outage in progress, if any, with one line. */
  recovered(fields: Record<string, unknown> = {}): void {
    this.#lastOther = undefined;
    if (this.#outageSince === undefined) return;
    const outageMs = this.#now() - this.#outageSince;
    this.#outageSince = undefined;
    this.#logger.info({ ...this.#fields, ...fields, outageMs }, `${this.#subject}: Redis reachable again`);
  }
}
