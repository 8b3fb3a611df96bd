import type { Bans } from './bans.js';
import type { AbuseLogger, AbuseState } from './ports.js';

export interface PikeSettings {
  /** Requests one source may send to the whole fleet within a window before it is banned; 0: off. */
  requests: number;
  /** The window (ms): counts are summed per fixed window of this length. */
  windowMs: number;
  /** How often this edge adds its counts to the fleet's (ms; default 1000, at most the window). */
  reportMs?: number;
  /** Sources counted in one report period at most (the edge's memory; default 100,000). */
  maxTrackedSources?: number;
}

/** A source is reported once it sent this share of the threshold within one report period. */
const REPORT_SHARE = 100;
/** The busiest sources reported per period, at most. */
const MAX_REPORTED = 1000;
const DEFAULT_MAX_TRACKED = 100_000;

/**
 * Flood detection across the fleet, as Kamailio's pike does per node: every edge counts the
 * messages of each source and, every `reportMs`, adds the counts of its busy sources (those that
 * sent at least 1/100 of the threshold in the period, the busiest 1000 at most) to the fleet's
 * counters of the windows now falls in, in the shared state, one round trip per window for all of
 * them. A source whose fleet-wide count in a window reaches `requests` is banned (Bans: fleet-wide,
 * exempt sources never).
 *
 * Windows overlap: one of `windowMs` starts every `windowMs / 2`, so each instant lies in two of
 * them. A flood that a single series of fixed windows would cut in two at a boundary (half in
 * each, neither reaching the threshold) lies whole in the other series' window: any `requests`
 * sent within `windowMs / 2` are caught, and no source is banned for fewer than `requests` within
 * `windowMs`. Counting is a map increment per message; the map is emptied at every report
 * and holds `maxTrackedSources` sources at most (beyond, new sources of the period go uncounted;
 * the per-edge rate limiter still applies to them).
 */
export class Pike {
  readonly #counts = new Map<string, number>();
  readonly #reportMs: number;
  readonly #maxTracked: number;
  readonly #minReported: number;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(
    private readonly state: AbuseState,
    private readonly bans: Bans,
    private readonly settings: PikeSettings,
    private readonly logger: AbuseLogger,
  ) {
    this.#reportMs = Math.min(settings.reportMs ?? 1000, settings.windowMs);
    this.#maxTracked = settings.maxTrackedSources ?? DEFAULT_MAX_TRACKED;
    this.#minReported = Math.max(1, Math.ceil(settings.requests / REPORT_SHARE));
  }

  get enabled(): boolean {
    return this.settings.requests > 0;
  }

  /** Sources counted in the current report period. */
  get trackedSources(): number {
    return this.#counts.size;
  }

  start(): void {
    if (!this.enabled) return;
    this.#timer = setInterval(() => void this.report(), this.#reportMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Counts one message from `address`. */
  count(address: string): void {
    if (!this.enabled) return;
    const count = this.#counts.get(address);
    if (count !== undefined) this.#counts.set(address, count + 1);
    else if (this.#counts.size < this.#maxTracked) this.#counts.set(address, 1);
  }

  /** Adds this period's busy sources to the fleet's windows and bans those over the threshold. */
  async report(now = Date.now()): Promise<void> {
    const busy = [...this.#counts].filter(([, count]) => count >= this.#minReported);
    this.#counts.clear();
    if (busy.length === 0) return;
    busy.sort((a, b) => b[1] - a[1]);
    const reported = busy.slice(0, MAX_REPORTED);
    const { windowMs, requests } = this.settings;
    let totals: number[];
    try {
      const perWindow = await Promise.all(
        windowsAt(now, windowMs).map((window) => this.state.addRequests(window, reported, windowMs)),
      );
      totals = reported.map((_, i) => Math.max(...perWindow.map((windowTotals) => windowTotals[i] ?? 0)));
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.logger.warn({ err: error }, 'pike: counts not shared, no flood detection meanwhile');
      this.#failing = true;
      return;
    }
    for (const [i, [address]] of reported.entries()) {
      const total = totals[i]!;
      if (total < requests || this.bans.isBanned(address, now)) continue;
      await this.bans.ban(address, `pike: ${total} requests in ${windowMs / 1000} s`, now);
    }
  }
}

/**
 * The two windows `now` lies in, each named by the half-window it starts at: window k spans
 * [k, k + 2) half-windows, so the one that started at the current half-window and the one that
 * started at the previous half-window.
 */
function windowsAt(now: number, windowMs: number): [number, number] {
  const half = Math.floor((now * 2) / windowMs);
  return [half - 1, half];
}
