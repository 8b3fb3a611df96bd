/**
 * No relay through a forged dialog, over real sockets (issue 14): sipedge as users run it
 * (standalone, and distributed with two edges and two workers), the user agents on 127.0.0.2, a
 * source that is not trusted (SIPEDGE_TRUSTED names 127.0.0.1 only). A real call through the proxy
 * is Record-Routed, and its ACK, re-INVITE and BYE (from the caller and from the callee) pass.
 * INVITE, MESSAGE and SUBSCRIBE to a UA beside the proxy (127.0.0.3) carrying our Route with no To
 * tag, with a made-up To tag, or with the Record-Route of the real call under another Call-ID get
 * 403, and nothing reaches that UA. Over UDP and TCP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { type PeerTransport, SipPeer } from '../support/sip-peer.js';
import {
  type RequestHeaders,
  hangUp,
  isFinal,
  isRequest,
  register,
  requestLines as lines,
  sendInvite,
} from '../support/sip-requests.js';

const UNTRUSTED = '127.0.0.2';
const BESIDE = '127.0.0.3';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

describe.each<Mode>(['standalone', 'distributed'])('dialog trust (%s)', (mode) => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment(mode, { env: { SIPEDGE_TRUSTED: '127.0.0.1/32' } });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it.each<PeerTransport>(['udp', 'tcp'])(
    'over %s: a real dialog passes both ways; forged dialogs get 403 and reach no one',
    async (transport) => {
      const proxy = { address: '127.0.0.1', port: deployment.port };
      const domain = `127.0.0.1:${deployment.port}`;
      const callee = await SipPeer.open(transport, proxy, UNTRUSTED);
      const caller = await SipPeer.open(transport, proxy, UNTRUSTED);
      const beside = await SipPeer.open(transport, proxy, BESIDE);
      try {
        const bob = `bob-${mode}-${transport}`;
        const tag = `${mode}-${transport}`;
        const callId = `dialog-${tag}`;
        const registrar = `sip:${domain}`;
        expect(await register(callee, { registrar, user: bob, domain: '127.0.0.1', callId: `reg-${tag}` })).toBe(200);

        // The real call: INVITE through the proxy, answered; our Record-Route is its route set.
        const from = `<sip:alice@127.0.0.1>;tag=caller-${tag}`;
        const to = `<sip:${bob}@127.0.0.1>`;
        sendInvite(caller, { uri: `sip:${bob}@127.0.0.1`, callId, from, to, user: 'alice' }, SDP);
        const invite = await callee.next(isRequest('INVITE', callId));
        const recordRoutes = invite.values('record-route');
        expect(recordRoutes.length).toBeGreaterThan(0);
        callee.answer(invite, 200, bob, `callee-${tag}`, SDP);
        const ok = await caller.next(isFinal('INVITE', callId, 1));
        expect(ok.status).toBe(200);
        const toTagged = `${to};tag=${ok.to.tag!}`;
        const calleeContact = ok.values('contact')[0]!.replace(/^<|>$/g, '');
        const callerRoute = [...ok.values('record-route')].reverse();
        const calleeRoute = recordRoutes;
        const inDialog = (method: string, cseq: number, extra: Partial<RequestHeaders> = {}) =>
          lines(caller, { method, uri: calleeContact, callId, cseq, from, to: toTagged, route: callerRoute, ...extra });

        caller.send(inDialog('ACK', 1));
        await callee.next(isRequest('ACK', callId));
        caller.send(inDialog('INVITE', 2, { contact: caller.contact('alice') }), SDP);
        const reinvite = await callee.next((m) => isRequest('INVITE', callId)(m) && m.cseq.seq === 2);
        expect(reinvite.to.tag).toBe(`callee-${tag}`);
        callee.answer(reinvite, 200, bob, `callee-${tag}`, SDP);
        expect((await caller.next(isFinal('INVITE', callId, 2))).status).toBe(200);
        caller.send(inDialog('ACK', 2));
        await callee.next((m) => isRequest('ACK', callId)(m) && m.cseq.seq === 2);
        // The callee hangs up: From and To the other way round, to the caller's Contact (§12.2.1.1).
        const uri = caller.contact('alice').replace(/^<|>$/g, '');
        const bye = await hangUp(
          callee,
          caller,
          { uri, callId, from: `${to};tag=callee-${tag}`, to: from, route: calleeRoute },
          { remoteUser: 'alice', remoteTag: `caller-${tag}` },
        );
        expect(bye.status).toBe(200);

        // Forged dialogs towards a UA beside the proxy: never relayed.
        const target = `sip:victim@${BESIDE}:${beside.port}${transport === 'tcp' ? ';transport=tcp' : ''}`;
        const plainRoute = `<sip:127.0.0.1:${deployment.port};lr>`;
        const forgeries: [string, Partial<RequestHeaders>][] = [
          ['our Route, no To tag', { route: [plainRoute] }],
          ['our Route, a made-up To tag', { route: [plainRoute], to: '<sip:victim@127.0.0.3>;tag=made-up' }],
          ['the real Record-Route under another Call-ID', { route: callerRoute, to: toTagged }],
          ['the real Record-Route without a To tag', { route: callerRoute }],
        ];
        let n = 0;
        for (const method of ['INVITE', 'MESSAGE', 'SUBSCRIBE']) {
          for (const [what, headers] of forgeries) {
            const forgedId = `forged-${tag}-${++n}`;
            caller.send(
              lines(caller, {
                method,
                uri: target,
                callId: forgedId,
                cseq: 1,
                from,
                to: '<sip:victim@127.0.0.3>',
                contact: caller.contact('alice'),
                extra: method === 'SUBSCRIBE' ? ['Event: presence', 'Expires: 60'] : [],
                ...headers,
              }),
            );
            const answer = await caller.next(isFinal(method, forgedId));
            expect(`${method} with ${what}: ${answer.status}`).toBe(`${method} with ${what}: 403`);
          }
        }
        await new Promise((r) => setTimeout(r, 500));
        expect(beside.received.map((m) => m.toString().split('\r\n')[0])).toEqual([]);
      } finally {
        for (const peer of [callee, caller, beside]) peer.close();
      }
    },
    60_000,
  );
});
