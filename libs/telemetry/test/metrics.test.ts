import { describe, expect, it } from 'vitest';
import { captureMetrics, DualMetrics } from '../src/index.js';

/** The value of one sample line (`name{labels} value`) of a text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('DualMetrics', () => {
  it('records each measurement once into both the OpenTelemetry meter and the Prometheus registry', async () => {
    const { meter, collect } = await captureMetrics();
    const sinks = new DualMetrics(meter);
    const counter = sinks.counter<'method'>({
      otelName: 'test.requests',
      promName: 'test_requests_total',
      description: 'Requests.',
      labelNames: ['method'],
    });
    const level = sinks.upDownCounter({ otelName: 'test.level', promName: 'test_level', description: 'Level.' });
    const latency = sinks.histogram({
      otelName: 'test.latency',
      promName: 'test_latency_seconds',
      description: 'Latency.',
      unit: 's',
      buckets: [0.1, 1],
    });
    counter.add({ method: 'BYE' }, 0);
    counter.add({ method: 'INVITE' });
    counter.add({ method: 'INVITE' }, 2);
    level.add(3);
    level.add(-1);
    latency.record(0.05);
    latency.record(0.5);

    const text = await sinks.registry.metrics();
    expect(sample(text, 'test_requests_total{method="INVITE"}')).toBe(3);
    expect(sample(text, 'test_requests_total{method="BYE"}')).toBe(0);
    expect(text).toContain('# TYPE test_level gauge');
    expect(sample(text, 'test_level')).toBe(2);
    expect(sample(text, 'test_latency_seconds_count')).toBe(2);
    expect(sample(text, 'test_latency_seconds_bucket{le="0.1"}')).toBe(1);

    const byName = new Map((await collect()).map((m) => [m.name, m]));
    expect(byName.get('test.requests')?.points).toEqual(
      expect.arrayContaining([
        { attributes: { method: 'INVITE' }, value: 3 },
        { attributes: { method: 'BYE' }, value: 0 },
      ]),
    );
    expect(byName.get('test.level')?.points).toEqual([{ attributes: {}, value: 2 }]);
    expect(byName.get('test.latency')).toMatchObject({ unit: 's', points: [{ value: { count: 2, sum: 0.55 } }] });
  });

  it('keeps one registry per instance: two instances with the same names do not collide', () => {
    const options = { otelName: 'test.same', promName: 'test_same_total', description: 'Same.' };
    expect(() => {
      new DualMetrics().counter(options);
      new DualMetrics().counter(options);
    }).not.toThrow();
  });
});
