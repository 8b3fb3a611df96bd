/**
 * Path (RFC 3327) at the worker: as registrar, the Path a REGISTER came through is stored with its
 * contact and becomes the preloaded route set of every request to it (§5.3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, sip } from './harness.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const EDGE = { address: '192.0.2.90', port: 5070 };
const PATH = [`<sip:${EDGE.address}:${EDGE.port};lr>`, '<sip:192.0.2.91;lr>'];

describe('Path (RFC 3327)', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('as registrar: a contact registered through Path proxies is reached through them', async () => {
    h = await Harness.start(1);
    await h.receive(
      sip([
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP ${EDGE.address}:${EDGE.port};branch=z9hG4bKpath-edge`,
        'Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKpath-ua',
        'Max-Forwards: 69',
        'To: <sip:carol@example.com>',
        'From: <sip:carol@example.com>;tag=p1',
        'Call-ID: path-reg',
        'CSeq: 1 REGISTER',
        ...PATH.map((p) => `Path: ${p}`),
        'Supported: path',
        'Contact: <sip:carol@10.0.0.7:5060>',
      ]),
      EDGE,
    );
    const ok = await h.waitFor((s) => s.message.isResponse && s.message.get('Call-ID') === 'path-reg');
    expect(ok.message.status).toBe(200);
    expect(ok.message.values('path')).toEqual(PATH);

    await h.receive(
      sip([
        'INVITE sip:carol@example.com SIP/2.0',
        `Via: SIP/2.0/UDP ${UAC.address}:${UAC.port};branch=z9hG4bKpath-inv`,
        'Max-Forwards: 70',
        'To: <sip:carol@example.com>',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: path-inv',
        'CSeq: 1 INVITE',
      ]),
      UAC,
    );
    const invite = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'path-inv');
    // §5.3: sent to the first Path URI with the Path as its Route set; the Request-URI is the contact.
    expect(invite.meta.destination).toEqual(EDGE);
    expect(invite.message.requestUri.toString()).toBe('sip:carol@10.0.0.7:5060');
    expect(invite.message.values('route')).toEqual(PATH);
  });
});
