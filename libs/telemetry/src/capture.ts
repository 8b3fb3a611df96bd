import { Writable } from 'node:stream';
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
