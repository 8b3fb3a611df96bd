import { EnvReader } from '@sipedge/config';

/**
 * Overload control, one rule for edges and workers (issue 16). Above capacity a proxy that takes
 * every new call makes every call late: INVITEs wait in queues, their senders retransmit (Timer A),
 * the retransmissions add work, and goodput collapses. Refusing the excess at once with 503 and
 * Retry-After (RFC 3261 §21.5.4; RFC 7339 §1 on why early, cheap refusal keeps goodput up) keeps
 * the calls that are taken on time.
 *
 * The signal is a delay: an edge's event-loop lag (everything the process does is late by it),
 * a worker's queueing delay (how long a request waited between the edge reading it and the worker
 * taking it). Below `maxDelayMs` nothing is shed; above it new initial requests are shed in
 * proportion to the excess, all of them at twice the limit. Proportional rather than on/off, so
 * that the admitted load settles near capacity instead of swinging between all and nothing.
 * Only new initial requests are shed: retransmissions, in-dialog requests, CANCEL, ACK and
 * responses belong to calls already taken, which is what the shedding protects.
 */
export interface OverloadSettings {
  /** The delay (ms) above which new initial requests are shed; 0 turns overload control off. */
  maxDelayMs: number;
  /** Retry-After (seconds) of the 503 a shed request gets. */
  retryAfterSeconds: number;
}

/**
 * 100 ms: above a garbage-collection pause or a busy moment of a healthy process (a shed INVITE is
 * a failed call), and well below T1 (500 ms), so that the queue never holds a request long enough
 * for its sender to retransmit it and add to the load (measured: at twice the clean rate a
 * standalone edge completed 1.3× the clean rate's calls with 100 ms, 0.9× with 200 ms).
 */
export const DEFAULT_OVERLOAD: OverloadSettings = { maxDelayMs: 100, retryAfterSeconds: 2 };

/** Whether to shed a new initial request at `delayMs` (`random` in [0, 1), for tests). */
export function shouldShed(delayMs: number, settings: OverloadSettings, random: () => number = Math.random): boolean {
  const { maxDelayMs } = settings;
  if (maxDelayMs <= 0 || delayMs <= maxDelayMs) return false;
  return random() < (delayMs - maxDelayMs) / maxDelayMs;
}

/** The overload settings from the environment (edge and worker alike; docs/configuration.md). */
export function overloadSettingsFromEnv(environment: NodeJS.ProcessEnv): OverloadSettings {
  const env = new EnvReader(environment);
  return {
    maxDelayMs: env.int('SIPEDGE_OVERLOAD_MAX_DELAY_MS', DEFAULT_OVERLOAD.maxDelayMs),
    retryAfterSeconds: env.int('SIPEDGE_OVERLOAD_RETRY_AFTER', DEFAULT_OVERLOAD.retryAfterSeconds, 1),
  };
}
