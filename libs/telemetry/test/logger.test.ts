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

  it('rejects an unknown level with an error that names the setting', () => {
    expect(() => createLogger({ name: 'x', level: 'loud' })).toThrow(/LOG_LEVEL.*loud/);
  });
});
