import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { type HttpRoute, type HttpServer, sendText, startHttpServer } from '@sipedge/net';
import type { Logger } from '@sipedge/telemetry';
import type { Registry } from 'prom-client';
import type { Endpoint } from './transports/types.js';

/** The caller's part of readiness: the state of the edge's dependencies. */
export interface ReadinessReport {
  /** The SIP listening sockets are bound. */
  sockets: boolean;
  /** The NATS connection (hand-off to the workers) is up. */
  nats: boolean;
  /** Redis (shared state) is reachable. */
  redis: boolean;
  /** The edge is draining before shutdown: it must stop receiving new traffic. */
  draining: boolean;
}

/** The JSON body of `/readyz`, the same shape whether ready (200) or not (503). */
export interface ReadinessBody {
  ready: boolean;
  checks: {
    sockets: { ok: boolean };
    nats: { ok: boolean };
    redis: { ok: boolean };
    /** p99 event-loop lag of the last window, in ms, against its bound. */
    eventLoopLagMs: { ok: boolean; value: number; bound: number };
    /** `value` is null when the caller's report could not be obtained. */
    draining: { ok: boolean; value: boolean | null };
  };
  /** Why the caller's report could not be obtained (it threw or timed out). */
  error?: string;
}

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The caller's readiness checks; throwing, rejecting or exceeding `readinessTimeoutMs` means not ready. */
  readiness: () => Promise<ReadinessReport> | ReadinessReport;
  /** The registry exposed on `/metrics` (EdgeMetrics.registry). */
  metrics: Registry;
  logger: Logger;
  /** How long `/readyz` waits for `readiness` (default 1000 ms), so the probe never hangs. */
  readinessTimeoutMs?: number;
  /** Readiness fails when the p99 event-loop lag exceeds this (default 250 ms). */
  maxEventLoopLagMs?: number;
  /** Length of the event-loop lag window (default 5000 ms). */
  eventLoopLagWindowMs?: number;
  /** Replaces the built-in event-loop lag measurement (ms); for tests. */
  eventLoopLagMs?: () => number;
  /** More routes (the admin API, when it has a token). */
  routes?: Record<string, HttpRoute>;
}

export interface OpsServer {
  /** Where the server listens (the actual port when 0 was asked). */
  address: Endpoint;
  /** Stops listening, closes open (keep-alive) connections and stops the lag monitor. */
  close(): Promise<void>;
}

const DEFAULT_READINESS_TIMEOUT_MS = 1000;
const DEFAULT_MAX_LAG_MS = 250;
const DEFAULT_LAG_WINDOW_MS = 5000;
/** Sampling period of the event-loop delay histogram. */
const LAG_RESOLUTION_MS = 10;

/**
 * Measures event-loop lag as the p99 over fixed, consecutive windows.
 *
 * Why p99 over a recent window: a saturated loop delays every SIP timer and retransmission, and
 * readiness should then fail so that traffic moves to other edges. The histogram from
 * `monitorEventLoopDelay` is cumulative, so reading it as is would never forget a stall at start;
 * resetting it on each probe would make the figure depend on how often (and by how many
 * clients) `/readyz` is probed. So a timer closes a window every `windowMs` and readiness reports
 * the last closed window (the current one until the first closes). The mean is not used because it
 * dilutes stalls: a blocked loop produces one long sample among many short ones. The p99 ignores a
 * single hiccup (one GC pause) but rises as soon as about 1% of the samples are long, which is
 * what sustained overload looks like. Node records each sample as the whole timer interval, so the
 * sampling resolution is subtracted to get the lag.
 */
export class EventLoopLagMonitor {
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #lastWindowMs: number | undefined;

  constructor(windowMs: number = DEFAULT_LAG_WINDOW_MS) {
    this.#histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.rotate(), windowMs);
    this.#timer.unref();
  }

  /** Closes the current window: its p99 becomes the reported lag. Called by the timer. */
  rotate(): void {
    this.#lastWindowMs = this.#p99Ms();
    this.#histogram.reset();
  }

  /** The p99 lag in ms of the last closed window, or of the current one before any closed. */
  lagMs(): number {
    return this.#lastWindowMs ?? this.#p99Ms();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  #p99Ms(): number {
    if (this.#histogram.count === 0) {
      return 0; // an empty histogram reports nonsense percentiles
    }
    return Math.max(0, this.#histogram.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
  }
}

class ReadinessTimeout extends Error {}

/** Runs the caller's readiness function within `timeoutMs`; a throw, rejection or timeout becomes an Error. */
async function withTimeout(
  readiness: () => Promise<ReadinessReport> | ReadinessReport,
  timeoutMs: number,
): Promise<ReadinessReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadinessTimeout(`readiness timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // Promise.resolve().then() also catches a synchronous throw; race() attaches handlers to the
    // caller's promise, so a rejection after the timeout is not unhandled.
    return await Promise.race([Promise.resolve().then(readiness), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the edge's operations HTTP server (node:http):
 * - `GET /healthz`: 200 `ok` while the process runs (liveness);
 * - `GET /readyz`: 200 when every check passes, else 503, both with a {@link ReadinessBody} JSON;
 *   the checks are the caller's report (`sockets`, `nats`, `redis`, `draining`) plus the
 *   event-loop lag measured here (see {@link EventLoopLagMonitor});
 * - `GET /metrics`: the registry in Prometheus text format;
 * - anything else: 404 (405 for another method on one of the paths above). HEAD is served as GET.
 *
 * Readiness that throws or takes longer than `readinessTimeoutMs` counts as not ready, so the
 * probe never hangs. Bind it to an internal interface: it is not meant for the SIP side.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { host, port, readiness, metrics, logger } = options;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS;
  const maxLagMs = options.maxEventLoopLagMs ?? DEFAULT_MAX_LAG_MS;
  const monitor = options.eventLoopLagMs ? undefined : new EventLoopLagMonitor(options.eventLoopLagWindowMs);
  const lagMs = options.eventLoopLagMs ?? (() => monitor?.lagMs() ?? 0);
  let wasReady: boolean | undefined;

  const readinessBody = async (): Promise<ReadinessBody> => {
    const lag = lagMs();
    const eventLoopLagMs = { ok: lag <= maxLagMs, value: Math.round(lag * 10) / 10, bound: maxLagMs };
    try {
      const report = await withTimeout(readiness, readinessTimeoutMs);
      const checks = {
        sockets: { ok: report.sockets === true },
        nats: { ok: report.nats === true },
        redis: { ok: report.redis === true },
        eventLoopLagMs,
        draining: { ok: report.draining === false, value: report.draining },
      };
      return { ready: Object.values(checks).every((check) => check.ok), checks };
    } catch (error) {
      const message =
        error instanceof ReadinessTimeout
          ? error.message
          : `readiness check failed: ${error instanceof Error ? error.message : String(error)}`;
      return {
        ready: false,
        checks: {
          sockets: { ok: false },
          nats: { ok: false },
          redis: { ok: false },
          eventLoopLagMs,
          draining: { ok: false, value: null },
        },
        error: message,
      };
    }
  };

  const text = 'text/plain; charset=utf-8';
  const routes: Record<string, HttpRoute> = {
    '/healthz': (res) => sendText(res, 200, text, 'ok\n'),
    '/readyz': async (res) => {
      const body = await readinessBody();
      if (body.ready !== wasReady) {
        logger[body.ready ? 'info' : 'warn']({ readiness: body }, body.ready ? 'edge ready' : 'edge not ready');
        wasReady = body.ready;
      }
      sendText(res, body.ready ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(body));
    },
    '/metrics': async (res) => sendText(res, 200, metrics.contentType, await metrics.metrics()),
    ...options.routes,
  };

  let server: HttpServer;
  try {
    server = await startHttpServer({ host, port, routes, logger, name: 'ops server' });
  } catch (error) {
    monitor?.stop();
    throw error;
  }
  return {
    address: server.address,
    close: () => {
      monitor?.stop();
      return server.close();
    },
  };
}
