/**
 * No relay through a forged dialog (§12, §16.4): only a request with a To tag whose top Route is the
 * Record-Route this fleet issued for its dialog is trusted as in-dialog; anything else from an
 * untrusted source is an initial request (403 for a foreign target, 407 with proxy authentication).
 */
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { credentials, digestAuth } from './support/auth.js';
import { registered, request as sipRequest } from './support/requests.js';

const CALLER = { address: '192.0.2.1', port: 5060 };
const CALLEE = { address: '192.0.2.20', port: 5070 };
const VICTIM = { address: '192.0.2.99', port: 5098 };

const PROXY_AUTH = digestAuth();

interface Lines {
  method: string;
  uri: string;
  callId: string;
  from?: string;
  to?: string;
  cseq?: number;
  route?: string;
  branch?: string;
  source?: { address: string; port: number };
}

function request({ method, uri, callId, from = 'caller-tag', to, cseq = 1, route, branch, source = CALLER }: Lines) {
  return sipRequest({
    method,
    uri,
    callId,
    via: source,
    branch: branch ?? `${method}-${callId}-${cseq}`,
    route: route === undefined ? [] : [route],
    to: `<sip:bob@example.com>${to === undefined ? '' : `;tag=${to}`}`,
    from: `<sip:alice@example.com>;tag=${from}`,
    cseq,
    contact: `<sip:alice@${source.address}:${source.port}>`,
  });
}

describe('dialog trust: forged dialogs from an untrusted source', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  /** A call CALLER → bob (registered at CALLEE) through the proxy: returns our Record-Route. */
  async function establishCall(callId: string): Promise<string> {
    await registered(h, { contact: CALLEE, callId: `reg-${callId}`, tag: 'r' });
    const invite = request({ method: 'INVITE', uri: 'sip:bob@example.com', callId });
    await h.receive(invite, CALLER);
    const challenged = await h.waitFor(
      (s) =>
        s.message.callId === callId &&
        (s.message.status === 407 || (s.message.isRequest && s.message.method === 'INVITE')),
    );
    if (challenged.message.status === 407) {
      const answer = credentials(challenged.message.proxyAuthenticates[0]!);
      const retry = request({ method: 'INVITE', uri: 'sip:bob@example.com', callId, cseq: 2 });
      await h.receive(retry.replace('CSeq: 2 INVITE', `CSeq: 2 INVITE\r\nProxy-Authorization: ${answer}`), CALLER);
    }
    const fork = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === callId,
    );
    const rr = fork.message.values('record-route')[0]!;
    const ok = buildResponse(fork.message, 200, {
      toTag: 'callee-tag',
      headers: [
        ['Record-Route', rr],
        ['Contact', `<sip:bob@${CALLEE.address}:${CALLEE.port}>`],
      ],
    });
    await h.receive(ok.toString(), CALLEE);
    await h.waitFor((s) => s.message.status === 200 && s.message.callId === callId);
    return rr;
  }

  const sentTo = (who: { address: string }, method: string, callId: string) =>
    h.sent.filter(
      (s) =>
        s.message.isRequest &&
        s.message.method === method &&
        s.message.callId === callId &&
        s.meta.destination.address === who.address,
    );

  const answerTo = (callId: string, method: string) =>
    h.waitFor(
      (s) =>
        s.message.isResponse &&
        s.message.status >= 200 &&
        s.message.callId === callId &&
        s.message.cseq.method === method,
    );

  it.each(['INVITE', 'MESSAGE', 'SUBSCRIBE'])(
    '%s with our Route and no To tag, a made-up To tag, or a Record-Route copied from another call: 403, nothing relayed',
    async (method) => {
      h = await Harness.start(1, { isTrusted: () => false });
      const copied = await establishCall(`real-${method}`);
      const forged: [string, Partial<Lines>][] = [
        ['plain Route, no To tag', { route: '<sip:127.0.0.1:5060;lr>' }],
        ['plain Route, made-up To tag', { route: '<sip:127.0.0.1:5060;lr>', to: 'made-up' }],
        ['our marker without a token', { route: '<sip:rr@127.0.0.1:5060;lr;sipedge>', to: 'made-up' }],
        ['a real Record-Route under another Call-ID', { route: copied, to: 'callee-tag' }],
        ['a real Record-Route without a To tag', { route: copied }],
      ];
      for (const [what, lines] of forged) {
        const callId = `forged-${method}-${what.replace(/\W+/g, '-')}`;
        await h.receive(request({ method, uri: `sip:victim@${VICTIM.address}:${VICTIM.port}`, callId, ...lines }));
        const answer = await answerTo(callId, method);
        expect([what, answer.message.status]).toEqual([what, 403]);
      }
      expect(h.sent.filter((s) => s.meta.destination.address === VICTIM.address)).toEqual([]);
    },
  );

  it('a maddr Request-URI from an untrusted source is relaying too: 403, nothing relayed', async () => {
    h = await Harness.start(1, { isTrusted: () => false });
    await h.receive(request({ method: 'INVITE', uri: `sip:bob@example.com;maddr=${VICTIM.address}`, callId: 'maddr' }));
    expect((await answerTo('maddr', 'INVITE')).message.status).toBe(403);
    expect(h.sent.filter((s) => s.meta.destination.address === VICTIM.address)).toEqual([]);
  });

  it('with proxy authentication on, a forged dialog is challenged (407), not relayed', async () => {
    h = await Harness.start(1, { isTrusted: () => false, auth: PROXY_AUTH });
    const callId = 'forged-auth';
    await h.receive(
      request({
        method: 'INVITE',
        uri: `sip:victim@${VICTIM.address}:${VICTIM.port}`,
        callId,
        route: '<sip:127.0.0.1:5060;lr>',
        to: 'x',
      }),
    );
    expect((await answerTo(callId, 'INVITE')).message.status).toBe(407);
    expect(h.sent.filter((s) => s.meta.destination.address === VICTIM.address)).toEqual([]);
  });

  it.each([
    ['without authentication', {}],
    ['with proxy authentication (only the INVITE that creates the dialog authenticates)', { auth: PROXY_AUTH }],
  ])(
    'the real dialog still passes %s: re-INVITE, BYE and 2xx ACK from the caller, BYE from the callee',
    async (_, tu) => {
      h = await Harness.start(2, { isTrusted: () => false, ...tu });
      const callId = 'real-dialog';
      const rr = await establishCall(callId);
      const established = h.sent.length;
      const calleeUri = `sip:bob@${CALLEE.address}:${CALLEE.port}`;
      await h.receive(request({ method: 'ACK', uri: calleeUri, callId, to: 'callee-tag', route: rr, branch: 'ack-1' }));
      await h.receive(request({ method: 'INVITE', uri: calleeUri, callId, to: 'callee-tag', cseq: 10, route: rr }));
      await h.receive(request({ method: 'BYE', uri: calleeUri, callId, to: 'callee-tag', cseq: 11, route: rr }));
      await h.waitFor(
        (s) => s.message.isRequest && s.message.method === 'BYE' && s.meta.destination.address === CALLEE.address,
      );
      expect(sentTo(CALLEE, 'ACK', callId)).toHaveLength(1);
      expect(sentTo(CALLEE, 'INVITE', callId)).toHaveLength(2);
      // The callee's BYE: From and To the other way round, to the caller's Contact.
      const calleeBye = request({
        method: 'BYE',
        uri: `sip:alice@${CALLER.address}:${CALLER.port}`,
        callId,
        from: 'callee-tag',
        to: 'caller-tag',
        cseq: 1,
        route: rr,
        source: CALLEE,
        branch: 'callee-bye',
      });
      await h.receive(calleeBye, CALLEE);
      await h.waitFor(
        (s) => s.message.isRequest && s.message.method === 'BYE' && s.meta.destination.address === CALLER.address,
      );
      expect(h.sent.slice(established).filter((s) => s.message.isResponse && s.message.status >= 400)).toEqual([]);
    },
  );

  it('a forged 2xx ACK is dropped and a CANCEL without a context is answered 481, neither relayed', async () => {
    h = await Harness.start(1, { isTrusted: () => false });
    const uri = `sip:victim@${VICTIM.address}:${VICTIM.port}`;
    await h.receive(request({ method: 'ACK', uri, callId: 'forged-ack', to: 'x', route: '<sip:127.0.0.1:5060;lr>' }));
    await h.receive(request({ method: 'CANCEL', uri, callId: 'forged-cancel', route: '<sip:127.0.0.1:5060;lr>' }));
    expect((await answerTo('forged-cancel', 'CANCEL')).message.status).toBe(481);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sent.filter((s) => s.meta.destination.address === VICTIM.address)).toEqual([]);
  });
});
