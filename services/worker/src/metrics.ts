import { meter } from '@sipedge/telemetry';

/** Latency buckets in seconds (0.1 ms to 10 s): hand-offs and Redis calls, timer lateness, transactions. */
const BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32, 64];

/**
 * The worker's metrics, as OpenTelemetry instruments: exported over OTLP (OTEL_METRICS_EXPORTER,
 * default `otlp`) when the SDK runs (see @sipedge/telemetry), no-ops otherwise. Workers have no HTTP
 * port, so there is no Prometheus scrape. Create it after `startTelemetry`: the metrics API binds
 * instruments to the meter provider registered at creation.
 */
export class WorkerMetrics {
  readonly #meter = meter();
  readonly #active = this.#meter.createUpDownCounter('sipedge.worker.active_transactions', {
    description: 'Call records open: +1 when a worker creates one, -1 when a worker finishes one (sum over workers).',
  });
  readonly #duration = this.#histogram(
    'sipedge.worker.transaction.duration',
    'From the edge receiving a request to the end of its call record.',
  );
  readonly #lateness = this.#histogram('sipedge.worker.timer.lateness', 'How late a timer fired after it was due.');
  readonly #handoff = this.#histogram(
    'sipedge.worker.handoff.latency',
    'From an edge reading a message to a worker taking it from NATS (clocks of two hosts).',
  );
  readonly #redis = this.#histogram('sipedge.worker.redis.duration', 'Call record loads and commits, by operation.');

  #histogram(name: string, description: string) {
    return this.#meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
  }

  /** A call record was created (`+1`) or finished (`-1`); a finished one also records its duration. */
  transactionOpened(): void {
    this.#active.add(1);
  }

  transactionFinished(receivedAt: number, now: number): void {
    this.#active.add(-1);
    this.#duration.record(Math.max(0, now - receivedAt) / 1000);
  }

  timerFired(dueAt: number, now: number): void {
    this.#lateness.record(Math.max(0, now - dueAt) / 1000);
  }

  handedOff(receivedAt: number, now: number): void {
    this.#handoff.record(Math.max(0, now - receivedAt) / 1000);
  }

  /** Times a Redis call. */
  async redis<T>(operation: 'load' | 'commit', call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.#redis.record((performance.now() - started) / 1000, { operation });
    }
  }
}
