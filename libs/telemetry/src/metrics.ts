import type { Attributes, Meter } from '@opentelemetry/api';
import { Gauge, Registry } from 'prom-client';
import { PromCounter, PromHistogram } from './prom-metrics.js';
import { meter as sipedgeMeter } from './tracing.js';

/** The names and description of one metric in both sinks. */
export interface DualMetricOptions<L extends string = string> {
  /** OpenTelemetry instrument name, e.g. `sipedge.edge.requests` (dots, no unit or `_total` suffix). */
  otelName: string;
  /** Prometheus name, e.g. `sipedge_edge_requests_total`. */
  promName: string;
  description: string;
  /** Label (attribute) names; the same in both sinks. */
  labelNames?: readonly L[];
}

export interface DualHistogramOptions<L extends string = string> extends DualMetricOptions<L> {
  /** Bucket boundaries, in the metric's unit: Prometheus buckets and the OTLP explicit bucket boundaries. */
  buckets: readonly number[];
  /** UCUM unit of the OpenTelemetry instrument (e.g. `s`). */
  unit?: string;
}

type Labels<L extends string> = Partial<Record<L, string>>;

/** A monotonic counter in both sinks. */
export interface DualCounter<L extends string = string> {
  /** Adds `value` (default 1; 0 creates the series without counting). */
  add(labels?: Labels<L>, value?: number): void;
}

/** A value that goes up and down (Prometheus gauge, OpenTelemetry up-down counter) in both sinks. */
export interface DualUpDownCounter<L extends string = string> {
  /** Adds `delta` (negative to go down; 0 creates the series). */
  add(delta: number, labels?: Labels<L>): void;
}

/** A histogram in both sinks. */
export interface DualHistogram<L extends string = string> {
  record(value: number, labels?: Labels<L>): void;
}

/**
 * Metrics recorded once into two sinks:
 *
 * - OpenTelemetry instruments of sipedge's meter, exported over OTLP when the SDK runs (see
 *   `startTelemetry`; a no-op otherwise);
 * - a prom-client registry of this instance (not prom-client's global registry, so that instances
 *   never collide), served on a process's `/metrics`.
 *
 * Create it after `startTelemetry`: the metrics API binds instruments to the meter provider
 * registered when they are created.
 */
export class DualMetrics {
  /** The registry to expose on `/metrics`. */
  readonly registry = new Registry();
  readonly #meter: Meter;

  /** `meter` defaults to sipedge's meter of the global meter provider (tests pass their own). */
  constructor(meter: Meter = sipedgeMeter()) {
    this.#meter = meter;
  }

  counter<L extends string = never>(options: DualMetricOptions<L>): DualCounter<L> {
    const otel = this.#meter.createCounter(options.otelName, { description: options.description });
    const prom = new PromCounter<L>(options.promName, options.description, options.labelNames ?? [], this.registry);
    return {
      add(labels = {}, value = 1) {
        otel.add(value, labels as Attributes);
        prom.inc(labels, value);
      },
    };
  }

  upDownCounter<L extends string = never>(options: DualMetricOptions<L>): DualUpDownCounter<L> {
    const otel = this.#meter.createUpDownCounter(options.otelName, { description: options.description });
    const prom = new Gauge<string>(this.#promConfiguration(options));
    return {
      add(delta, labels = {}) {
        otel.add(delta, labels as Attributes);
        prom.inc(labels as Record<string, string>, delta);
      },
    };
  }

  /**
   * A gauge whose value is read when it is collected (a Prometheus scrape, an OTLP export) from
   * `read`; a read that fails leaves the OTLP export without it and the Prometheus gauge at its last value.
   */
  observableGauge(options: DualMetricOptions<never>, read: () => Promise<number>): void {
    const otel = this.#meter.createObservableGauge(options.otelName, { description: options.description });
    otel.addCallback(async (result) => {
      const value = await read().catch(() => undefined);
      if (value !== undefined) result.observe(value);
    });
    new Gauge({
      ...this.#promConfiguration(options),
      async collect() {
        const value = await read().catch(() => undefined);
        if (value !== undefined) this.set(value);
      },
    });
  }

  histogram<L extends string = never>(options: DualHistogramOptions<L>): DualHistogram<L> {
    const otel = this.#meter.createHistogram(options.otelName, {
      description: options.description,
      ...(options.unit === undefined ? {} : { unit: options.unit }),
      advice: { explicitBucketBoundaries: [...options.buckets] },
    });
    const prom = new PromHistogram<L>(
      options.promName,
      options.description,
      options.labelNames ?? [],
      options.buckets,
      this.registry,
    );
    return {
      record(value, labels = {}) {
        otel.record(value, labels as Attributes);
        prom.observe(labels, value);
      },
    };
  }

  /** What every prom-client metric of this instance is made with: its name, help, labels and registry. */
  #promConfiguration(options: DualMetricOptions) {
    return {
      name: options.promName,
      help: options.description,
      labelNames: [...(options.labelNames ?? [])],
      registers: [this.registry],
    };
  }
}
