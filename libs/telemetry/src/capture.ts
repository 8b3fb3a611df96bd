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
