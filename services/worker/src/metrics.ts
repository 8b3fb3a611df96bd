import { DualMetrics } from '@sipedge/telemetry';

/** Latency buckets in seconds (0.1 ms to 64 s): hand-offs and Redis calls, timer lateness, transactions. */
const BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32, 64];

/** Why overload control refused a message (`Worker.refuse`, `Worker.queueFull`). */
const SHED_REASONS = ['late', 'queue-full'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

/** The kinds of effect an event has (`Effect` of engine.ts). */
const EFFECTS = ['send', 'hop-health', 'dialog-open', 'dialog-close', 'disarm'] as const;

/** The Redis calls a worker times: its call records' and their deadline jobs'. */
export type RedisOperation = 'load' | 'commit' | 'deadline-add' | 'deadline-move' | 'deadline-disarm' | 'dialog';

/**
 * The worker's metrics. Each measurement is recorded once, here, into two sinks (DualMetrics of
 * @sipedge/telemetry, as the edge's):
 *
 * - OpenTelemetry instruments (`sipedge.worker.*`), exported over OTLP (OTEL_METRICS_EXPORTER,
 *   default `otlp`) when the SDK runs (see @sipedge/telemetry), no-ops otherwise;
 * - a prom-client registry of this instance (`sipedge_worker_*`), served on the worker's ops port
 *   (`SIPEDGE_WORKER_HTTP`, `/metrics`) when one is configured.
 *
 * Create it after `startTelemetry`: the metrics API binds instruments to the meter provider
 * registered at creation.
 */
export class WorkerMetrics {
  readonly #sinks = new DualMetrics();
  /** The registry to expose on the worker's `/metrics`. */
  readonly registry = this.#sinks.registry;

  readonly #active = this.#sinks.upDownCounter({
    otelName: 'sipedge.worker.active_transactions',
    promName: 'sipedge_worker_active_transactions',
    description:
      'Call records open: +1 when a worker creates one, -1 when a worker finishes one (sum over workers for the open ones).',
  });
  readonly #duration = this.#histogram(
    'transaction.duration',
    'transaction_duration_seconds',
    'From the edge receiving a request to the end of its call record.',
  );
  readonly #lateness = this.#histogram<'timer'>(
    'timer.lateness',
    'timer_lateness_seconds',
    "How late a timer fired after it was due, by timer: a call record's durable deadline or a local retransmission.",
    ['timer'],
  );
  readonly #handoff = this.#histogram(
    'handoff.latency',
    'handoff_latency_seconds',
    'From an edge reading a message to a worker taking it from NATS (clocks of two hosts).',
  );
  readonly #redis = this.#histogram<'operation'>(
    'redis.duration',
    'redis_duration_seconds',
    "Call record loads and commits and the record's deadline job's add, move and removal (the BullMQ timers' round trips), by operation.",
    ['operation'],
  );

  readonly #effectFailures = this.#sinks.counter<'effect'>({
    otelName: 'sipedge.worker.effect_failures',
    promName: 'sipedge_worker_effect_failures_total',
    description:
      'Effects of a committed event that failed (a message not handed to an edge, a timer not scheduled or cancelled, a blacklist update), by effect.',
    labelNames: ['effect'],
  });

  readonly #shed = this.#sinks.counter<'reason'>({
    otelName: 'sipedge.worker.shed',
    promName: 'sipedge_worker_shed_total',
    description:
      'Overload control, by reason: late, new calls refused with 503 because they waited too long for a worker; queue-full, messages refused (a new call 503, the rest dropped) because the admission queue was full.',
    labelNames: ['reason'],
  });

  constructor() {
    this.#active.add(0);
    for (const reason of SHED_REASONS) this.#shed.add({ reason }, 0);
    for (const effect of EFFECTS) this.#effectFailures.add({ effect }, 0);
  }

  /** A message was refused by overload control. */
  shed(reason: ShedReason): void {
    this.#shed.add({ reason });
  }

  /** An effect of a committed event failed (logged where it happened). */
  effectFailed(effect: (typeof EFFECTS)[number]): void {
    this.#effectFailures.add({ effect });
  }

  /** One histogram in both sinks: `sipedge.worker.<otelName>` (unit s) and `sipedge_worker_<promName>`. */
  #histogram<L extends string = never>(otelName: string, promName: string, description: string, labelNames: L[] = []) {
    return this.#sinks.histogram<L>({
      otelName: `sipedge.worker.${otelName}`,
      promName: `sipedge_worker_${promName}`,
      description,
      labelNames,
      unit: 's',
      buckets: BUCKETS,
    });
  }

  /** A call record was created. */
  transactionOpened(): void {
    this.#active.add(1);
  }

  /** A call record was finished: -1 active, and its duration. */
  transactionFinished(receivedAt: number, now: number): void {
    this.#active.add(-1);
    this.#duration.record(Math.max(0, now - receivedAt) / 1000);
  }

  /** A call record's durable deadline (any worker) or a local retransmission timer fired. */
  timerFired(timer: 'deadline' | 'retransmission', dueAt: number, now: number): void {
    this.#lateness.record(Math.max(0, now - dueAt) / 1000, { timer });
  }

  handedOff(receivedAt: number, now: number): void {
    this.#handoff.record(Math.max(0, now - receivedAt) / 1000);
  }

  /** Times a Redis call (each is one round trip). */
  /** The fleet's live dialogs (dialogs.ts), read from the dialog store at each collection. */
  observeDialogs(read: () => Promise<number>): void {
    this.#sinks.observableGauge(
      {
        otelName: 'sipedge.dialogs.active',
        promName: 'sipedge_dialogs_active',
        description:
          'Dialogs the fleet is in (2xx to an INVITE forwarded, no BYE yet), fleet-wide: every worker reports the same count.',
      },
      read,
    );
  }

  async redis<T>(operation: RedisOperation, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.#redis.record((performance.now() - started) / 1000, { operation });
    }
  }
}
