/**
 * A call record created before its decision (an INVITE taken at once, §17.2.1): the decision
 * timer answers 500 when the decision never comes (the deciding worker died); a CANCEL meanwhile is
 * answered 487 and a decision coming after it starts nothing.
 */
import { parseMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { applyToCall, createCall, fireDueTimers } from '../src/index.js';
import { SETTINGS, sip } from './harness.js';
import { UDP_ORIGIN, proxyToBob } from './support/engine.js';

const invite = parseMessage(
  Buffer.from(
    sip([
      'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKdeciding',
      'Max-Forwards: 70',
      'To: <sip:bob@example.com>',
      'From: <sip:alice@example.com>;tag=a1',
      'Call-ID: deciding',
      'CSeq: 1 INVITE',
    ]),
    'latin1',
  ),
);
const sentStatuses = (effects: ReturnType<typeof createCall>['effects']) =>
  effects.flatMap((e) => (e.type === 'send' ? [parseMessage(e.wire).status] : []));

describe('a record waiting for its decision', () => {
  it('sends 100 at once and arms the decision timer, which answers 500 if no decision comes', () => {
    const created = createCall('c1', invite, UDP_ORIGIN, null, 0, SETTINGS);
    expect(created.record.decisionDue).toBe(64 * SETTINGS.timers.t1);
    expect(sentStatuses(created.effects)).toEqual([100]);
    expect(fireDueTimers(created.record, 31_999, SETTINGS)).toBeNull();
    const fired = fireDueTimers(created.record, 32_000, SETTINGS)!;
    expect(sentStatuses(fired.effects)).toEqual([500]);
    expect(fired.record.decisionDue).toBeUndefined();
  });

  it('a CANCEL while deciding is answered 487; the decision after it starts no fork', () => {
    const created = createCall('c2', invite, UDP_ORIGIN, null, 0, SETTINGS);
    const cancel = parseMessage(
      Buffer.from(
        sip([
          'CANCEL sip:bob@example.com SIP/2.0',
          'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKdeciding',
          'Max-Forwards: 70',
          'To: <sip:bob@example.com>',
          'From: <sip:alice@example.com>;tag=a1',
          'Call-ID: deciding',
          'CSeq: 1 CANCEL',
        ]),
        'latin1',
      ),
    );
    const cancelled = applyToCall(
      created.record,
      { type: 'cancel', message: cancel, origin: UDP_ORIGIN },
      10,
      SETTINGS,
    );
    expect(sentStatuses(cancelled.effects)).toEqual([200, 487]);
    const decision = proxyToBob(invite);
    const late = applyToCall(cancelled.record, { type: 'decision', decision }, 20, SETTINGS);
    expect(late.effects.filter((e) => e.type === 'send')).toEqual([]);
    expect(late.record.proxy).toBeNull();
  });
});
