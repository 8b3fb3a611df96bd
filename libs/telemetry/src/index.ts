export { createLogger, LOG_LEVELS, type LogLevel, type Logger, type LoggerSettings } from './logger.js';
export {
  captureLogs,
  captureMetrics,
  captureSpans,
  type CapturedLogs,
  type CapturedMetric,
  type CapturedPoint,
  type CapturedSpan,
} from './capture.js';
export {
  startTelemetry,
  telemetryEnabled,
  injectTraceContext,
  extractTraceContext,
  currentTraceparent,
  traceparentContext,
  inSpan,
  traceFields,
  withContext,
  activeContext,
  meter,
  SpanKind,
  type Attributes,
  type Context,
  type SpanOptions,
  type StopTelemetry,
  type TelemetrySettings,
} from './tracing.js';
export {
  DualMetrics,
  type DualCounter,
  type DualHistogram,
  type DualHistogramOptions,
  type DualMetricOptions,
  type DualUpDownCounter,
} from './metrics.js';
export type { Meter } from '@opentelemetry/api';
