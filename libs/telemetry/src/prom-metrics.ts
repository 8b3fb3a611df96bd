import type { Metric, Registry } from 'prom-client';

/** One exposed value as prom-client's registry formats it: `labels` first, then the series's own. */
interface ExposedValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
}

/** A metric as prom-client's registry reads it. */
interface Exposition<V> {
  name: string;
  help: string;
  type: 'histogram';
  values: V[];
  aggregator: 'sum';
}

/** One label set's observations: a count per bucket (not cumulative), the sum and the count. */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram in a prom-client `Registry`, exposed exactly as prom-client's own
 * `Histogram` (cumulative `_bucket` series with `le`, then `+Inf`, `_sum` and `_count`), and
 * cheaper to observe: prom-client's `observe` makes a closure and two objects, checks every label
 * and hashes the sorted label set for each observation, which the message path does about twenty
 * times per call. Here a series is found by its label values alone (`seriesKey`).
 */
export class PromHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  /** @throws Error when `registry` already holds another metric of this name (as prom-client). */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
    // The registry reads a metric through `getForPromString()` (or `get()`) and `reset()` only.
    registry.registerMetric(this as unknown as Metric);
  }

  /** @throws TypeError for a value that is not a finite number (as prom-client). */
  observe(labels: Partial<Record<L, string>>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    const key = seriesKey(this.labelNames, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = {
        labels: { ...labels } as Record<string, string>,
        buckets: this.#bounds.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    const bucket = this.#bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.buckets[bucket]!++;
    series.sum += value;
    series.count++;
  }

  /** What the registry's JSON gives (`getMetricsAsJSON`): each value with all its labels. */
  async get(): Promise<Exposition<Omit<ExposedValue, 'sharedLabels'>>> {
    const exposed = await this.getForPromString();
    return {
      ...exposed,
      values: exposed.values.map(({ sharedLabels, labels, ...value }) => ({
        ...value,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  /** What the registry's text gives: each series's cumulative buckets, `+Inf`, sum and count. */
  async getForPromString(): Promise<Exposition<ExposedValue>> {
    const values: ExposedValue[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.buckets[i]!;
        values.push(sample(`${this.name}_bucket`, { le: bound }, series.labels, cumulative));
      });
      values.push(sample(`${this.name}_bucket`, { le: '+Inf' }, series.labels, series.count));
      values.push(sample(`${this.name}_sum`, {}, series.labels, series.sum));
      values.push(sample(`${this.name}_count`, {}, series.labels, series.count));
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}

function sample(
  metricName: string,
  labels: Record<string, string | number>,
  sharedLabels: Readonly<Record<string, string>>,
  value: number,
): ExposedValue {
  return { metricName, labels, sharedLabels, value };
}

/**
 * A Prometheus counter in a prom-client `Registry`, exposed exactly as prom-client's own `Counter`,
 * and cheaper to count: a series is found by its label values alone (`seriesKey`), where
 * prom-client checks every label and hashes the sorted label set on each `inc`.
 */
export class PromCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: Readonly<Record<string, string>>; value: number }>();

  /** @throws Error when `registry` already holds another metric of this name (as prom-client). */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    this.reset();
    registry.registerMetric(this as unknown as Metric);
  }

  /** @throws TypeError for a value that is not a finite number, RangeError for a negative one. */
  inc(labels: Partial<Record<L, string>>, value = 1): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    if (value < 0) throw new RangeError(`${this.name}: a counter cannot decrease (${value})`);
    const key = seriesKey(this.labelNames, labels);
    const series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, { labels: { ...labels } as Record<string, string>, value });
    else series.value += value;
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: 'counter';
    values: { labels: Readonly<Record<string, string>>; value: number }[];
    aggregator: 'sum';
  }> {
    const values = [...this.#series.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Empties every series; a counter without labels starts again at 0 (as prom-client's). */
  reset(): void {
    this.#series.clear();
    if (this.labelNames.length === 0) this.#series.set('', { labels: {}, value: 0 });
  }
}

/** A label set's key: its values in `labelNames` order (a missing label is not an empty one). */
function seriesKey<L extends string>(labelNames: readonly L[], labels: Partial<Record<L, string>>): string {
  let key = '';
  for (const name of labelNames) {
    const value = labels[name];
    key += value === undefined ? '\u0001' : `\u0000${value}`;
  }
  return key;
}
