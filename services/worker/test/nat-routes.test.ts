/**
 * A contact registered from behind a NAT is reached on its binding (the REGISTER's source), unless
 * the request carries a Route: then the Route is the next hop (§16.6 steps 6–7), and the binding
 * is the business of the proxy that Route names. Found by the fuzz run: a request with a pre-loaded
 * strict Route went to the binding with the Route's rewritten Request-URI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, sip } from './harness.js';

const PHONE_PUBLIC = { address: '203.0.113.9', port: 40001 };
const CALLER = { address: '192.0.2.1', port: 5060 };

const invite = (callId: string, extra: string[] = []) =>
  sip([
    'INVITE sip:bob@example.com SIP/2.0',
    `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK${callId}`,
    'Max-Forwards: 70',
    ...extra,
    'To: <sip:bob@example.com>',
    'From: <sip:alice@example.com>;tag=a1',
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@${CALLER.address}:${CALLER.port}>`,
  ]);

describe('a contact behind a NAT', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('is reached at its binding, and a request with a Route goes to the Route', async () => {
    h = await Harness.start(1);
    await h.receive(
      sip([
        'REGISTER sip:example.com SIP/2.0',
        'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnatreg',
        'Max-Forwards: 70',
        'To: <sip:bob@example.com>',
        'From: <sip:bob@example.com>;tag=r1',
        'Call-ID: nat-reg',
        'CSeq: 1 REGISTER',
        'Contact: <sip:bob@10.0.0.5:5060>',
        'Expires: 600',
      ]),
      PHONE_PUBLIC,
    );
    await h.waitFor((s) => s.message.status === 200 && s.message.cseq.method === 'REGISTER');

    await h.receive(invite('nat-direct'), CALLER);
    const direct = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === 'nat-direct',
    );
    expect(direct.meta.destination).toEqual(PHONE_PUBLIC);

    await h.receive(invite('nat-routed', ['Route: <sip:192.0.2.77:5080;lr>']), CALLER);
    const routed = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === 'nat-routed',
    );
    expect(routed.meta.destination).toEqual({ address: '192.0.2.77', port: 5080 });
    expect(routed.message.requestUriText).toBe('sip:bob@10.0.0.5:5060');
    expect(routed.message.values('route')).toEqual(['<sip:192.0.2.77:5080;lr>']);
  });
});
