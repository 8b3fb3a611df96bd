import { DualMetrics } from '@sipedge/telemetry';

/** Latency buckets in seconds (0.1 ms to 64 s): hand-offs and Redis calls, timer lateness, transactions. */
const BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32, 64];

/** The latency histograms (unit s), by the name `WorkerMetrics.#histogram` derives both sinks' names from. */
const HISTOGRAMS = {
  'transaction.duration': 'From the edge receiving a request to the end of its call record.',
  'timer.lateness':
    "How late a timer fired after it was due, by timer: a call record's durable deadline or a local retransmission.",
  'handoff.latency': 'From an edge reading a message to a worker taking it from NATS (clocks of two hosts).',
  'redis.duration':
    "Call record loads and commits and the record's deadline job's add, move and removal (the BullMQ timers' round trips), by operation.",
} as const;

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
  readonly #duration = this.#histogram('transaction.duration');
  readonly #lateness = this.#histogram<'timer'>('timer.lateness', ['timer']);
  readonly #handoff = this.#histogram('handoff.latency');
  readonly #redis = this.#histogram<'operation'>('redis.duration', ['operation']);

  readonly #effectFailures = this.#counter<'effect'>(
    'effect_failures',
    'Effects of a committed event that failed (a message not handed to an edge, a timer not scheduled or cancelled, a blacklist update), by effect.',
    ['effect'],
  );
  readonly #shed = this.#counter<'reason'>(
    'shed',
    'Overload control, by reason: late, new calls refused with 503 because they waited too long for a worker; queue-full, messages refused (a new call 503, the rest dropped) because the admission queue was full.',
    ['reason'],
  );

  readonly #commitConflicts = this.#counter(
    'commit_conflicts',
    "Call record commits refused because another worker had committed the record since this worker's state of it (a kept state gone stale, or two workers on one call at once); each is applied again to a fresh load. With call affinity (the edges send a call's messages to one worker) it stays near zero.",
    [],
  );

  constructor() {
    this.#active.add(0);
    this.#commitConflicts.add({}, 0);
    for (const reason of SHED_REASONS) this.#shed.add({ reason }, 0);
    for (const effect of EFFECTS) this.#effectFailures.add({ effect }, 0);
  }

  /** A message was refused by overload control. */
  shed(reason: ShedReason): void {
    this.#shed.add({ reason });
  }

  /** A compare-and-set commit of a call record found a newer version. */
  commitConflict(): void {
    this.#commitConflicts.add({});
  }

  /** An effect of a committed event failed (logged where it happened). */
  effectFailed(effect: (typeof EFFECTS)[number]): void {
    this.#effectFailures.add({ effect });
  }

  /** One of HISTOGRAMS in both sinks: `sipedge.worker.<name>` (unit s) and `sipedge_worker_<name>_seconds`. */
  #histogram<L extends string = never>(name: keyof typeof HISTOGRAMS, labelNames: L[] = []) {
    return this.#sinks.histogram<L>({
      otelName: `sipedge.worker.${name}`,
      promName: `sipedge_worker_${name.replace('.', '_')}_seconds`,
      description: HISTOGRAMS[name],
      labelNames,
      unit: 's',
      buckets: BUCKETS,
    });
  }

  /** One counter in both sinks: `sipedge.worker.<name>` and `sipedge_worker_<name>_total`. */
  #counter<L extends string>(name: string, description: string, labelNames: L[]) {
    return this.#sinks.counter<L>({
      otelName: `sipedge.worker.${name}`,
      promName: `sipedge_worker_${name}_total`,
      description,
      labelNames,
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

  /** Times a Redis call (each is one round trip). */
  async redis<T>(operation: RedisOperation, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.#redis.record((performance.now() - started) / 1000, { operation });
    }
  }
}
