import { EventEmitter } from 'node:events';
import { captureLogs } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { OutageLogger } from '../src/index.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

function setup() {
  const { lines, logger } = captureLogs('outage-test', 'debug');
  let clock = 1_000_000;
  const outage = new OutageLogger({
    logger,
    subject: 'timers',
    fields: { queue: 'q' },
    intervalMs: 10_000,
    now: () => clock,
  });
  return {
    outage,
    lines,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('OutageLogger', () => {
  it('warns when an outage starts, then at most once per interval, and once when it ends', () => {
    const { outage, lines, advance } = setup();
    outage.error(refused(), { source: 'producer' });
    for (let i = 0; i < 50; i++) {
      advance(100);
      outage.error(refused(), { source: 'worker' });
    }
    expect(outage.inOutage).toBe(true);
    advance(5_000); // 10 s since the first warning
    outage.error(new Error('Connection is closed.'), { source: 'worker' });
    advance(2_000);
    outage.recovered({ role: 'producer' });
    outage.recovered({ role: 'worker' }); // the outage is over: nothing more
    expect(outage.inOutage).toBe(false);

    expect(lines.map(({ level, msg, outageMs, queue }) => ({ level, msg, outageMs, queue }))).toEqual([
      { level: 'warn', msg: 'timers: Redis unreachable; retrying', outageMs: 0, queue: 'q' },
      { level: 'warn', msg: 'timers: Redis unreachable; retrying', outageMs: 10_000, queue: 'q' },
      { level: 'info', msg: 'timers: Redis reachable again', outageMs: 12_000, queue: 'q' },
    ]);
    expect(lines[0]).toMatchObject({ source: 'producer', err: { message: 'connect ECONNREFUSED 127.0.0.1:6379' } });
    expect(lines[2]).toMatchObject({ role: 'producer' });
  });

  it('logs the start of the next outage at once, however soon it comes', () => {
    const { outage, lines, advance } = setup();
    outage.error(refused());
    advance(1_000);
    outage.recovered();
    advance(1_000);
    outage.error(refused());
    expect(lines.map((l) => [l.msg, l.outageMs])).toEqual([
      ['timers: Redis unreachable; retrying', 0],
      ['timers: Redis reachable again', 1_000],
      ['timers: Redis unreachable; retrying', 0],
    ]);
  });

  it('logs other errors at error level, the same message once per interval, and starts no outage', () => {
    const { outage, lines, advance } = setup();
    const wrongPassword = () => new Error('WRONGPASS invalid username-password pair or user is disabled.');
    outage.error(wrongPassword(), { source: 'worker' });
    advance(1_000);
    outage.error(wrongPassword(), { source: 'worker' });
    outage.error(new Error('Missing lock for job 1. moveToFinished'));
    advance(10_000);
    outage.error(wrongPassword());
    expect(outage.inOutage).toBe(false);
    expect(lines.map((l) => [l.level, l.msg, (l.err as { message: string }).message])).toEqual([
      ['error', 'timers: error', 'WRONGPASS invalid username-password pair or user is disabled.'],
      ['error', 'timers: error', 'Missing lock for job 1. moveToFinished'],
      ['error', 'timers: error', 'WRONGPASS invalid username-password pair or user is disabled.'],
    ]);
    outage.recovered();
    expect(lines).toHaveLength(3);
  });

  it('watches a client: its error events and its ready events', () => {
    const { outage, lines, advance } = setup();
    const client = new EventEmitter();
    outage.watch(client, { role: 'producer' });
    client.emit('error', refused());
    advance(300);
    client.emit('ready');
    expect(lines.map((l) => [l.msg, l.role, l.outageMs])).toEqual([
      ['timers: Redis unreachable; retrying', 'producer', 0],
      ['timers: Redis reachable again', 'producer', 300],
    ]);
  });
});
