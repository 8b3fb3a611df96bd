import {
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  type Attributes,
  type Context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';

export { SpanKind, type Attributes, type Context } from '@opentelemetry/api';

/** Stops the SDK, flushing what it holds. */
export type StopTelemetry = () => Promise<void>;

export interface TelemetrySettings {
  /** `service.name` unless OTEL_SERVICE_NAME sets it. */
  serviceName: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Whether the environment asks for an exporter: an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or an explicit OTEL_TRACES_EXPORTER other than `none`, and
 * not OTEL_SDK_DISABLED=true.
 */
export function telemetryEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || exporter);
}

/**
 * Starts the OpenTelemetry NodeSDK (traces and metrics, configured by the standard OTEL_*
 * variables: exporter, endpoint, protocol, resource attributes) when `telemetryEnabled`; otherwise
 * starts nothing, and the API's no-op tracer and meter cost next to nothing. The SDK is loaded only
 * when it is used. Returns the function that flushes and stops it.
 */
export async function startTelemetry(settings: TelemetrySettings): Promise<StopTelemetry> {
  const env = settings.env ?? process.env;
  if (!telemetryEnabled(env)) return async () => {};
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: settings.serviceName }),
    instrumentations: [],
  });
  sdk.start();
  return () => sdk.shutdown();
}

const tracer = () => trace.getTracer('sipedge');

/** The span `inSpan` gives `fn` without an SDK when the parent context has none. */
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Adds the W3C trace context (`traceparent`, `tracestate`) of `ctx` to `headers`; returns them. */
export function injectTraceContext<T extends Record<string, string>>(headers: T, ctx: Context = context.active()): T {
  propagation.inject(ctx, headers);
  return headers;
}

/** The context carried by headers written by `injectTraceContext` (the active one when there is none). */
export function extractTraceContext(headers: Readonly<Record<string, string | undefined>>): Context {
  return propagation.extract(context.active(), headers);
}

/** The `traceparent` of the active span, to store with state that later work continues; undefined without one. */
export function currentTraceparent(): string | undefined {
  return injectTraceContext<Record<string, string>>({}).traceparent;
}

/** The context of a stored `traceparent`. */
export function traceparentContext(traceparent: string): Context {
  return extractTraceContext({ traceparent });
}

export interface SpanOptions {
  kind?: SpanKind;
  /**
   * The span's attributes; given as a function they are computed only for a span that records
   * (never without an SDK), and set once it has started.
   */
  attributes?: Attributes | (() => Attributes);
  /** The parent; default the active context. */
  parent?: Context;
  /** Other contexts this span follows from (e.g. the message that triggered work on a stored trace). */
  links?: Context[];
}

/** The API's no-op tracer provider: what the global provider delegates to while no SDK has registered one. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether no tracer provider is registered (no SDK runs): every span would be a no-op. */
function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACER_PROVIDER;
}

/**
 * Runs `fn` in a new active span that ends when it settles; a throw marks the span as an error.
 * Without an SDK the span is a no-op, and none is made: `fn` runs in the parent context with its
 * span (a non-recording one, as the no-op tracer would give), which a worker does several times for
 * every message it takes.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (tracingOff()) {
    const parent = options.parent ?? context.active();
    return context.with(parent, fn, undefined, trace.getSpan(parent) ?? NON_RECORDING_SPAN);
  }
  const links: Link[] = (options.links ?? [])
    .map((c) => trace.getSpanContext(c))
    .filter((c) => c !== undefined && isSpanContextValid(c))
    .map((c) => ({ context: c! }));
  const parent = options.parent ?? context.active();
  const lazy = typeof options.attributes === 'function' ? options.attributes : undefined;
  const attributes = lazy === undefined ? ((options.attributes as Attributes | undefined) ?? {}) : {};
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes, links },
    parent,
    async (span) => {
      if (lazy !== undefined && span.isRecording()) span.setAttributes(lazy());
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** `trace_id` and `span_id` of the active span, for log lines; empty without one. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan()?.spanContext();
  if (span === undefined || !isSpanContextValid(span)) return {};
  return { trace_id: span.traceId, span_id: span.spanId };
}

/** Runs `fn` with `ctx` as the active context (e.g. the one a hand-off carried). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** The active context. */
export const activeContext = (): Context => context.active();

/** The meter of sipedge's OpenTelemetry metrics (exported over OTLP when the SDK runs; a no-op otherwise). */
export const meter = () => metrics.getMeter('sipedge');
