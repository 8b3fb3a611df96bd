/**
 * Path (RFC 3327) at the worker: as registrar, the Path a REGISTER came through is stored with its
 * contact and becomes the preloaded route set of every request to it (§5.3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { request } from './support/requests.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const EDGE = { address: '192.0.2.90', port: 5070 };
const PATH = [`<sip:${EDGE.address}:${EDGE.port};lr>`, '<sip:192.0.2.91;lr>'];

describe('Path (RFC 3327)', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('as registrar: a contact registered through Path proxies is reached through them', async () => {
    h = await Harness.start(1);
    await h.receive(
      request({
        method: 'REGISTER',
        uri: 'sip:example.com',
        callId: 'path-reg',
        via: EDGE,
        branch: 'path-edge',
        lowerVias: ['SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKpath-ua'],
        maxForwards: 69,
        to: '<sip:carol@example.com>',
        from: '<sip:carol@example.com>;tag=p1',
        extra: [...PATH.map((p) => `Path: ${p}`), 'Supported: path', 'Contact: <sip:carol@10.0.0.7:5060>'],
      }),
      EDGE,
    );
    const ok = await h.waitFor((s) => s.message.isResponse && s.message.get('Call-ID') === 'path-reg');
    expect(ok.message.status).toBe(200);
    expect(ok.message.values('path')).toEqual(PATH);

    await h.receive(
      request({
        method: 'INVITE',
        uri: 'sip:carol@example.com',
        callId: 'path-inv',
        via: UAC,
        to: '<sip:carol@example.com>',
      }),
      UAC,
    );
    const invite = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'path-inv');
    // §5.3: sent to the first Path URI with the Path as its Route set; the Request-URI is the contact.
    expect(invite.meta.destination).toEqual(EDGE);
    expect(invite.message.requestUri.toString()).toBe('sip:carol@10.0.0.7:5060');
    expect(invite.message.values('route')).toEqual(PATH);
  });
});

describe('Path (RFC 3327) as an edge in front of another registrar', () => {
  let h: Harness;
  afterEach(() => h?.stop());
  const REGISTRAR = { address: '192.0.2.95', port: 5060 };

  it('adds a Path naming the UA flow to a REGISTER it forwards, and sends what comes back through it on that flow', async () => {
    // Only the UA's network is trusted: the registrar's requests pass on the strength of the Path token.
    h = await Harness.start(1, { isTrusted: (address) => address === UAC.address });
    await h.receive(
      request({
        method: 'REGISTER',
        uri: `sip:${REGISTRAR.address}:${REGISTRAR.port}`,
        callId: 'path-fwd',
        via: UAC,
        transport: 'TCP',
        to: '<sip:dave@other.example.net>',
        from: '<sip:dave@other.example.net>;tag=d1',
        extra: ['Supported: path', `Contact: <sip:dave@${UAC.address}:${UAC.port};transport=tcp>`],
      }),
      UAC,
      'tcp',
    );
    const forwarded = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'path-fwd');
    expect(forwarded.meta.destination).toEqual(REGISTRAR);
    const [path] = forwarded.message.values('path');
    expect(path).toMatch(/^<sip:[A-Za-z0-9_-]+@127\.0\.0\.1(:\d+)?;lr;sipedge>$/);

    // The registrar calls the UA through the Path it stored (§5.3): a preloaded Route.
    const inviteTo = (callId: string, route: string) =>
      request({
        method: 'INVITE',
        uri: `sip:dave@${UAC.address}:${UAC.port};transport=tcp`,
        callId,
        via: REGISTRAR,
        route: [route],
        to: '<sip:dave@other.example.net>',
        from: '<sip:erin@other.example.net>;tag=e1',
      });
    await h.receive(inviteTo('path-in', path!), REGISTRAR);
    const invite = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'path-in');
    expect(invite.meta).toMatchObject({ transport: 'tcp', flowId: 'f-e1-1', destination: UAC });
    expect(invite.message.has('route')).toBe(false);

    // A Route naming us without a Path token of ours is no way through (no open relay).
    const forged = path!.replace(/sip:[A-Za-z0-9_-]+@/, 'sip:AQAAAAAAAAAAAAAAAAAAAAA@');
    await h.receive(inviteTo('path-forged', forged), REGISTRAR);
    const refused = await h.waitFor(
      (s) => s.message.isResponse && s.message.get('Call-ID') === 'path-forged' && s.message.status >= 200,
    );
    expect(refused.message.status).toBe(403);
  });
});
