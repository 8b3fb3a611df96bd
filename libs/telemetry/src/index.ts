export { createLogger, LOG_LEVELS, type LogLevel, type Logger, type LoggerSettings } from './logger.js';
export { captureLogs, type CapturedLogs } from './capture.js';
