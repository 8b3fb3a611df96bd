export { createLogger, LOG_LEVELS, type LogLevel, type Logger, type LoggerSettings } from './logger.js';
export { captureLogs, captureSpans, type CapturedLogs, type CapturedSpan } from './capture.js';
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
