import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with name, level label and message', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'edge', level: 'debug', destination: stream });
    log.info({ callId: 'abc' }, 'received INVITE');
    log.debug('detail');
    const [first, second] = lines();
    expect(first).toMatchObject({ name: 'edge', level: 'info', msg: 'received INVITE', callId: 'abc' });
    expect(typeof first?.time).toBe('string');
    expect(second).toMatchObject({ level: 'debug', msg: 'detail' });
  });

  it('drops lines below the configured level', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'worker', level: 'warn', destination: stream });
    log.info('hidden');
    log.warn('shown');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('serialises an error under err with its type, message, stack and cause', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'edge', level: 'info', destination: stream });
    log.warn({ err: new Error('outer', { cause: new Error('inner') }) }, 'failed');
    const err = lines()[0]?.err as { type: string; message: string; stack: string };
    expect(err.type).toBe('Error');
    expect(err.message).toContain('outer');
    expect(err.message).toContain('inner');
    expect(err.stack).toMatch(/^Error: outer\n\s+at /);
    expect(err.stack).toContain('caused by: Error: inner');
  });

  it('keeps the name of a failed Redis command but not its arguments (record contents)', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'worker', level: 'info', destination: stream });
    const error = Object.assign(new Error('NOSCRIPT'), { command: { name: 'evalsha', args: ['sha', '{"secret":1}'] } });
    log.warn({ err: error }, 'commit failed');
    const err = lines()[0]?.err as { message: string; command: unknown };
    expect(err.message).toBe('NOSCRIPT');
    expect(err.command).toEqual({ name: 'evalsha' });
  });

  it('rejects an unknown level with an error that names the setting', () => {
    expect(() => createLogger({ name: 'x', level: 'loud' })).toThrow(/LOG_LEVEL.*loud/);
  });
});
