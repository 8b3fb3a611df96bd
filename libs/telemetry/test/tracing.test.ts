import { beforeAll, describe, expect, it } from 'vitest';
import {
  captureLogs,
  captureSpans,
  currentTraceparent,
  extractTraceContext,
  inSpan,
  injectTraceContext,
  startTelemetry,
  telemetryEnabled,
  traceparentContext,
} from '../src/index.js';

describe('telemetryEnabled / startTelemetry', () => {
  it('is on only with an OTLP endpoint or an explicit traces exporter, and never when disabled', () => {
    expect(telemetryEnabled({})).toBe(false);
    expect(telemetryEnabled({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(telemetryEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(telemetryEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(telemetryEnabled({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(telemetryEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:1' })).toBe(false);
    expect(telemetryEnabled({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:1' })).toBe(false);
  });

  it('starts nothing without an endpoint: spans are no-ops and carry no context', async () => {
    const stop = await startTelemetry({ serviceName: 'test', env: {} });
    await inSpan('noop', {}, async () => {
      expect(currentTraceparent()).toBeUndefined();
      expect(injectTraceContext({})).toEqual({});
    });
    await stop();
  });

  it('without an SDK, attributes given as a function are never computed', async () => {
    let computed = 0;
    const result = await inSpan('lazy', { attributes: () => ({ computed: ++computed }) }, async () => 'ran');
    expect(result).toBe('ran');
    expect(computed).toBe(0);
  });
});

describe('trace context propagation', () => {
  let captured: Awaited<ReturnType<typeof captureSpans>>;
  beforeAll(async () => {
    captured = await captureSpans();
  });

  it('round-trips through headers: a span started from extracted headers is a child in the same trace', async () => {
    let headers: Record<string, string> = {};
    await inSpan('sender', {}, async () => {
      headers = injectTraceContext({ other: 'kept' });
    });
    expect(headers.other).toBe('kept');
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await inSpan('receiver', { parent: extractTraceContext(headers) }, async () => {});
    const sender = captured.spans().find((s) => s.name === 'sender')!;
    const receiver = captured.spans().find((s) => s.name === 'receiver')!;
    expect(headers.traceparent).toBe(`00-${sender.traceId}-${sender.spanId}-01`);
    expect(receiver.traceId).toBe(sender.traceId);
    expect(receiver.parentSpanId).toBe(sender.spanId);
  });

  it('attributes given as a function are set on a span that records', async () => {
    await inSpan('lazy-recorded', { attributes: () => ({ 'sip.method': 'INVITE' }) }, async () => {});
    await inSpan('eager-recorded', { attributes: { 'sip.method': 'BYE' } }, async () => {});
    expect(captured.spans().find((s) => s.name === 'lazy-recorded')!.attributes).toMatchObject({
      'sip.method': 'INVITE',
    });
    expect(captured.spans().find((s) => s.name === 'eager-recorded')!.attributes).toMatchObject({
      'sip.method': 'BYE',
    });
  });

  it('a stored traceparent parents later work; a throw marks the span and propagates', async () => {
    let stored: string | undefined;
    await inSpan('created', {}, async () => {
      stored = currentTraceparent();
    });
    await expect(
      inSpan('later', { parent: traceparentContext(stored!) }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const created = captured.spans().find((s) => s.name === 'created')!;
    const later = captured.spans().find((s) => s.name === 'later')!;
    expect(later.traceId).toBe(created.traceId);
    expect(later.parentSpanId).toBe(created.spanId);
  });

  it('log lines carry trace_id and span_id while a span is active, and only then', async () => {
    const { lines, logger } = captureLogs('test');
    logger.info('before');
    await inSpan('logged', {}, async () => {
      logger.info('inside');
    });
    const span = captured.spans().find((s) => s.name === 'logged')!;
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({ msg: 'inside', trace_id: span.traceId, span_id: span.spanId });
  });
});
