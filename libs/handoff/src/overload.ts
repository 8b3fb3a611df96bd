import { EnvReader } from '@sipedge/config';

/**
 * Overload control, one rule for edges and workers (issue 16). Above capacity a proxy that takes
 * every new call makes every call late: INVITEs wait in queues, their senders retransmit (Timer A),
 * the retransmissions add work, and goodput collapses. Refusing the excess at once with 503 and
 * Retry-After (RFC 3261 §21.5.4; RFC 7339 §1 on why early, cheap refusal keeps goodput up) keeps
 * the calls that are taken on time.
 *
 * The signal is a wait, judged only while requests really stand in line (so that a burst that
 * drains, or a pause, refuses nothing): an edge's UDP receive queue, measured by probes through it,
 * once it stands (`StandingDelay`, `judgedDelay`); at a worker, how long a request waited between
 * its edge reading it and the worker starting on it, while messages wait for a place in its
 * admission queue. Below `maxDelayMs` nothing is shed; above it new initial requests are shed in
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
 * On by default at 100 ms: what docs/performance.md measures (at twice the clean rate the steps
 * complete more than the clean rate's calls, where without it they collapsed), below T1 (500 ms),
 * so that the queue never holds a request long enough for its sender to retransmit it. A pause of
 * the process (a garbage collection, a starved CPU) refuses nothing: only a wait that stands over a
 * window counts (`StandingDelay`). `maxDelayMs` 0 turns it off.
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

/** The window over which a delay must have stood (ms): a burst drains within it, overload does not. */
export const STANDING_WINDOW_MS = 500;

/**
 * The least delay seen over the last complete window (CoDel's rule, RFC 8289 §3): a burst leaves a
 * queue that drains, so some message of every window is taken quickly, while above capacity the
 * queue stands and even the quickest waits. Shedding on this, not on the latest delay, keeps a
 * burst of new calls (a trunk's busy hour, a test's hundred calls at once) from being refused.
 */
export class StandingDelay {
  #windowStart = 0;
  #currentMin = Infinity;
  #seen = 0;
  #lastMin = 0;

  constructor(
    private readonly windowMs = STANDING_WINDOW_MS,
    /** Fewer delays than this in a window are light traffic, not a standing queue. */
    private readonly minSamples = 10,
  ) {}

  /** One delay seen at `now` (ms). */
  observe(delayMs: number, now: number): void {
    this.#roll(now);
    this.#seen++;
    if (delayMs < this.#currentMin) this.#currentMin = delayMs;
  }

  /** The least delay of the last complete window (0 when it saw too little to tell). */
  value(now: number): number {
    this.#roll(now);
    return this.#lastMin;
  }

  #roll(now: number): void {
    if (now - this.#windowStart < this.windowMs) return;
    // A window that ended more than a window ago is stale: nothing was seen since.
    const fresh = now - this.#windowStart < 2 * this.windowMs;
    this.#lastMin = fresh && this.#seen >= this.minSamples ? this.#currentMin : 0;
    this.#currentMin = Infinity;
    this.#seen = 0;
    this.#windowStart = now;
  }
}

/**
 * The delay overload control judges (CoDel's two states): nothing while the delays do not stand
 * above the limit (a burst), the latest delay while they do, so that shedding follows the queue as
 * it grows and shrinks instead of waiting a window to react.
 */
export function judgedDelay(latestMs: number, standingMs: number, settings: OverloadSettings): number {
  return standingMs > settings.maxDelayMs ? latestMs : 0;
}
