import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PromCounter, PromHistogram } from '../src/prom-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
type Op = 'operation' | 'result';
/** Observations with label sets of every kind: none, one, both, a value to escape, beyond every bucket. */
const OBSERVATIONS: [Partial<Record<Op, string>>, number][] = [
  [{}, 0.0005],
  [{ operation: 'load' }, 0.001],
  [{ operation: 'load' }, 0.02],
  [{ operation: 'commit', result: 'ok' }, 0.5],
  [{ operation: 'commit', result: 'ok' }, 7],
  [{ result: 'ok' }, 0.05],
  [{ operation: 'a "quoted"\nvalue\\' }, 0.2],
  [{ operation: 'load' }, 0],
];

describe('PromHistogram', () => {
  it("is exposed exactly as prom-client's Histogram of the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new PromHistogram<Op>('t_seconds', 'Help.', ['operation', 'result'], BUCKETS, ours);
    const reference = new Histogram<Op>({
      name: 't_seconds',
      help: 'Help.',
      labelNames: ['operation', 'result'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [labels, value] of OBSERVATIONS) {
      histogram.observe(labels, value);
      reference.observe(labels, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client's JSON carries each value's exemplar too (null: none is ever recorded).
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((m) => ({
        ...m,
        values: m.values.map((value) => {
          const { exemplar: _, ...rest } = value as typeof value & { exemplar?: unknown };
          return rest;
        }),
      }));
    expect(await ours.getMetricsAsJSON()).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('sorts its buckets, refuses a value that is not finite and empties on reset', async () => {
    const registry = new Registry();
    const histogram = new PromHistogram<never>('u_seconds', 'Help.', [], [1, 0.1], registry);
    histogram.observe({}, 0.05);
    expect(() => histogram.observe({}, Number.NaN)).toThrow(TypeError);
    expect(() => histogram.observe({}, Number.POSITIVE_INFINITY)).toThrow(TypeError);
    const text = await registry.metrics();
    expect(text).toContain('u_seconds_bucket{le="0.1"} 1\nu_seconds_bucket{le="1"} 1\nu_seconds_bucket{le="+Inf"} 1');
    expect(text).toContain('u_seconds_count 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('u_seconds_count');
  });

  it('refuses a second metric of its name in one registry', () => {
    const registry = new Registry();
    new PromHistogram('v_seconds', 'Help.', [], BUCKETS, registry);
    expect(() => new PromHistogram('v_seconds', 'Help.', [], BUCKETS, registry)).toThrow(/already been registered/);
  });
});

describe('PromCounter', () => {
  it("is exposed exactly as prom-client's Counter of the same counts", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new PromCounter<Op>('t_total', 'Help.', ['operation', 'result'], ours);
    const plain = new PromCounter<never>('p_total', 'Plain.', [], ours);
    const reference = new Counter<Op>({
      name: 't_total',
      help: 'Help.',
      labelNames: ['operation', 'result'],
      registers: [theirs],
    });
    const plainReference = new Counter({ name: 'p_total', help: 'Plain.', registers: [theirs] });
    for (const [labels, value] of OBSERVATIONS) {
      counter.inc(labels, value);
      reference.inc(labels, value);
    }
    counter.inc({ operation: 'created' }, 0);
    reference.inc({ operation: 'created' }, 0);
    counter.inc({ operation: 'load' });
    reference.inc({ operation: 'load' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    plain.inc({});
    plainReference.inc();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses a negative or non-finite count', () => {
    const counter = new PromCounter<never>('n_total', 'Help.', [], new Registry());
    expect(() => counter.inc({}, -1)).toThrow(RangeError);
    expect(() => counter.inc({}, Number.NaN)).toThrow(TypeError);
  });
});
