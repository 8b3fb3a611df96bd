/**
 * The fork template (§16.6: the request after route pre-processing, from which every fork is
 * built) is stored once: when it is the server transaction's request unchanged, the record keeps
 * only the latter, and takes the template over when the server transaction ends.
 */
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { applyToCall, createCall, fireDueTimers } from '../src/index.js';
import type { EngineResult } from '../src/engine.js';
import { SETTINGS, sip } from './harness.js';
import { UDP_ORIGIN, proxyToBob } from './support/engine.js';

const INVITE_LINES = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtemplate',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: <sip:alice@example.com>;tag=a1',
  'Call-ID: template',
  'CSeq: 1 INVITE',
];
const message = (lines: string[]) => parseMessage(Buffer.from(sip(lines), 'latin1'));
const invite = message(INVITE_LINES);

const forwarded = (result: EngineResult): SipMessage[] =>
  result.effects.flatMap((e) => (e.type === 'send' && e.kind === 'request' ? [parseMessage(e.wire)] : []));

describe('the fork template', () => {
  it('is not stored again when it is the request as received; the fork is built from that', () => {
    const created = createCall('t1', invite, UDP_ORIGIN, proxyToBob(invite), 0, SETTINGS);
    expect(created.record.template).toBeNull();
    const [fork] = forwarded(created);
    expect(fork?.requestUriText).toBe('sip:bob@192.0.2.20');
    expect(fork?.callId).toBe('template');
    expect(fork?.maxForwards).toBe(69);
  });

  it('is stored when route pre-processing changed the request, and forks are built from it', () => {
    const changed = message([...INVITE_LINES, 'Subject: rewritten by the TU']);
    const created = createCall('t2', invite, UDP_ORIGIN, proxyToBob(changed), 0, SETTINGS);
    expect(created.record.template).toBe(changed.toBuffer().toString('latin1'));
    expect(forwarded(created)[0]?.get('Subject')).toBe('rewritten by the TU');
  });

  it('is taken over from the server transaction when that ends, the forks still running', () => {
    const created = createCall('t3', invite, UDP_ORIGIN, proxyToBob(invite), 0, SETTINGS);
    const fork = forwarded(created)[0]!;
    // The callee answers 486; the proxy forwards it upstream, and the caller ACKs it (§17.2.1).
    const busy = buildResponse(fork, 486, { toTag: 'b1' });
    const answered = applyToCall(created.record, { type: 'response', fork: 0, message: busy }, 10, SETTINGS);
    const ack = message([
      'ACK sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtemplate',
      'Max-Forwards: 70',
      'To: <sip:bob@example.com>;tag=b1',
      'From: <sip:alice@example.com>;tag=a1',
      'Call-ID: template',
      'CSeq: 1 ACK',
    ]);
    const acked = applyToCall(answered.record, { type: 'request', message: ack }, 20, SETTINGS);
    expect(acked.record.server?.state).toBe('confirmed');
    expect(acked.record.template).toBeNull();
    // Timer I ends the server transaction (§17.2.1); the fork's client transaction is still there.
    const ended = fireDueTimers(acked.record, 20 + SETTINGS.timers.t4 + 1, SETTINGS)!;
    expect(ended.record.server).toBeNull();
    expect(ended.record.template).toBe(invite.toBuffer().toString('latin1'));
    expect(ended.record.forks[0]?.tx?.state).toBe('completed');
  });
});
