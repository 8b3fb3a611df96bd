/**
 * Reads every line a process prints (JSON log lines and anything else), from the moment it is
 * attached, keeps the ones a predicate flags and counts warnings and errors by message: unlike
 * `ManagedProcess.output()`, which keeps only the last part, no line is missed however much the
 * process logs.
 */
import type { ManagedProcess } from './processes.js';

/** Keeps at most this many flagged lines (all of them are counted). */
const KEPT = 50;

export class LogWatch {
  /** Flagged lines (the first ones), and how many there were in all. */
  readonly flagged: string[] = [];
  flaggedCount = 0;
  lines = 0;
  /** JSON log lines at level warn or above, by `msg`. */
  readonly warnings = new Map<string, number>();
  private partial = { stdout: '', stderr: '' };

  constructor(
    process: ManagedProcess,
    private readonly flag: (line: string) => boolean,
  ) {
    const earlier = process.output().split('\n');
    this.partial.stdout = earlier.pop() ?? '';
    for (const line of earlier) this.line(line);
    process.child.stdout!.on('data', (chunk: Buffer) => this.chunk('stdout', chunk));
    process.child.stderr!.on('data', (chunk: Buffer) => this.chunk('stderr', chunk));
  }

  private chunk(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const lines = (this.partial[stream] + chunk.toString()).split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line.trim() === '') return;
    this.lines++;
    const entry = jsonLine(line);
    if (entry !== undefined && levelOf(entry) >= 40) {
      const msg = String(entry.msg);
      this.warnings.set(msg, (this.warnings.get(msg) ?? 0) + 1);
    }
    if (!this.flag(line)) return;
    this.flaggedCount++;
    if (this.flagged.length < KEPT) this.flagged.push(line.slice(0, 2000));
  }
}

/** A JSON log line's fields, or undefined when the line is not one. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** pino's level numbers, for lines that carry the label instead. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A JSON log line's level as a number (pino writes the number, or its label with a level formatter); 0 when unknown. */
export function levelOf(entry: Record<string, unknown>): number {
  const level = entry.level;
  if (typeof level === 'number') return level;
  return typeof level === 'string' ? (LEVELS[level] ?? 0) : 0;
}
