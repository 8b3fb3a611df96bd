import { traceFields } from './tracing.js';
import { pino, stdSerializers, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** Component name, written as `name` on every line (e.g. `edge`, `worker`, `sip`). */
  name: string;
  /** pino level; defaults to `LOG_LEVEL` from the environment, then `info`. */
  level?: string;
  /** Where the JSON lines go; defaults to standard output. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/** The levels `LOG_LEVEL` may name. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVELS = new Set<string>(LOG_LEVELS);

/**
 * Creates the structured JSON logger every sipedge package uses (never `console.log`).
 * An unknown level is a configuration error, reported at once rather than silently replaced.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const level = settings.level ?? process.env.LOG_LEVEL ?? 'info';
  if (!LEVELS.has(level)) {
    throw new RangeError(`LOG_LEVEL: expected one of ${[...LEVELS].join(', ')}, got "${level}"`);
  }
  const options: LoggerOptions = {
    name: settings.name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // trace_id and span_id of the active span, when there is one.
    mixin: traceFields,
    serializers: { err: serializeError },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/**
 * pino's error serializer (type, message, stack with its causes, other own fields), without the
 * arguments of a failed Redis command that ioredis attaches (`command.args`: call records, user
 * entries): the command's name stays.
 */
function serializeError(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  const command = serialized.command as { name?: unknown } | undefined;
  if (command !== null && typeof command === 'object') serialized.command = { name: command.name };
  return serialized;
}
