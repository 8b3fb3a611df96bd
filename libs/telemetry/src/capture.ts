import { Writable } from 'node:stream';
import type { Meter } from '@opentelemetry/api';
import { type Logger, createLogger } from './logger.js';

export interface CapturedLogs {
  /** Every JSON line written so far, parsed. */
  lines: Record<string, unknown>[];
  logger: Logger;
}

/** A logger whose lines are kept in memory, for tests that assert what was logged. */
export function captureLogs(name: string, level = 'info'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, logger: createLogger({ name, level, destination }) };
}

/** A span as the tests see it: name, ids, parent and attributes. */
export interface CapturedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
}

/**
 * Registers a global tracer provider (with the AsyncLocalStorage context manager and the W3C
 * propagator) that keeps ended spans in memory, for tests that assert what was traced. Global: one
 * per test file.
 */
export async function captureSpans(): Promise<{ spans: () => CapturedSpan[] }> {
  const { node, tracing } = await import('@opentelemetry/sdk-node');
  const exporter = new tracing.InMemorySpanExporter();
  new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] }).register();
  return {
    spans: () =>
      exporter.getFinishedSpans().map((s) => ({
        name: s.name,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        attributes: { ...s.attributes },
      })),
  };
}

/** One data point of a captured metric: a sum's value, or a histogram's count and sum. */
export interface CapturedPoint {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum: number };
}

/** A metric as the tests see it: name, unit and data points. */
export interface CapturedMetric {
  name: string;
  unit: string;
  points: CapturedPoint[];
}

/**
 * A meter of a meter provider of its own (not the global one) whose metrics the returned `collect`
 * reads on demand (cumulative), for tests that assert what was recorded over OpenTelemetry: pass
 * `meter` to what records (e.g. DualMetrics).
 */
export async function captureMetrics(): Promise<{
  meter: Meter;
  collect: () => Promise<CapturedMetric[]>;
}> {
  const { metrics } = await import('@opentelemetry/sdk-node');
  class Reader extends metrics.MetricReader {
    protected async onForceFlush(): Promise<void> {}
    protected async onShutdown(): Promise<void> {}
  }
  const reader = new Reader();
  const provider = new metrics.MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter('sipedge'),
    collect: async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) =>
        scope.metrics.map((metric) => ({
          name: metric.descriptor.name,
          unit: metric.descriptor.unit,
          points: (metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]).map((p) => ({
            attributes: { ...p.attributes },
            value:
              typeof p.value === 'number'
                ? p.value
                : { count: (p.value as { count: number }).count, sum: (p.value as { sum: number }).sum },
          })),
        })),
      );
    },
  };
}
