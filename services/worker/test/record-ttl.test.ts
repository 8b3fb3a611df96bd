/**
 * A call record outlives its longest wait (issue 16): its TTL follows the timer settings, so a
 * Timer C above the old fixed 600 s still finds its record when it fires.
 */
import type { RecordWrite } from '@sipedge/store';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterEach, describe, expect, it } from 'vitest';
import { recordTtlMs } from '../src/record.js';
import { Harness, sip } from './harness.js';

const CALLER = { address: '192.0.2.1', port: 5060 };

describe('the TTL of a call record', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('is longer than Timer C, Timer D and 64·T1 plus a transaction after them, and than its own timers', () => {
    expect(recordTtlMs(DEFAULT_TIMERS, 0, null, false)).toBe(181_000 + 32_000 + 60_000);
    const longC = { ...DEFAULT_TIMERS, timerC: 900_000 };
    expect(recordTtlMs(longC, 0, null, false)).toBeGreaterThan(900_000 + 64 * longC.t1);
    const slowT1 = { ...DEFAULT_TIMERS, t1: 5000, timerC: 181_000 };
    expect(recordTtlMs(slowT1, 0, null, false)).toBeGreaterThan(2 * 64 * 5000);
    // An INVITE with a long Expires keeps its record until then.
    expect(recordTtlMs(DEFAULT_TIMERS, 1000, 1000 + 3_600_000, false)).toBeGreaterThan(3_600_000);
    // A settled record lives until its last absorbing timer, and a moment.
    expect(recordTtlMs(DEFAULT_TIMERS, 1000, 33_000, true)).toBe(33_000);
  });

  it('is what the worker commits with: SIPEDGE_TIMER_C_MS of 15 minutes keeps the record 15 minutes and more', async () => {
    const timers = { ...DEFAULT_TIMERS, timerC: 900_000 };
    h = await Harness.start(1, {}, { timers });
    const writes: RecordWrite[] = [];
    const commit = h.stores.records.commit.bind(h.stores.records);
    h.stores.records.commit = (batch) => {
      writes.push(...batch);
      return commit(batch);
    };
    await h.receive(
      sip([
        'INVITE sip:carol@192.0.2.30:5080 SIP/2.0',
        `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bKttl-1`,
        'Max-Forwards: 70',
        'To: <sip:carol@example.net>',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: record-ttl',
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@${CALLER.address}:${CALLER.port}>`,
      ]),
      CALLER,
    );
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) expect(write.ttlMs).toBeGreaterThan(900_000 + 64 * timers.t1);
  });
});
