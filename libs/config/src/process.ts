import { ConfigError } from './env.js';

/** The logging a process entry point needs (a pino logger fits). */
export interface ProcessLogger {
  info(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
}

/**
 * Runs a process's start-up. A failure is logged as fatal — "bad configuration" for a ConfigError
 * (its message names the variable), "`what` failed to start" otherwise — and the process exits 1.
 */
export function runMain(logger: ProcessLogger, what: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    logger.fatal({ err: error }, error instanceof ConfigError ? 'bad configuration' : `${what} failed to start`);
    process.exit(1);
  });
}

/** On the first SIGTERM or SIGINT: `stop` (drain, close connections), then exit 0. Later signals are ignored. */
export function stopOnSignals(logger: ProcessLogger, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await stop();
    logger.info({}, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
