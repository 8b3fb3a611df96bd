/**
 * Topology hiding over real sockets (issue 18 item 6): sipedge as users run it (standalone) with
 * `SIPEDGE_TOPOLOGY_HIDING=untrusted`, a caller on 127.0.0.2 (outside: not in SIPEDGE_TRUSTED) and a
 * callee on 127.0.0.3 (inside). Each call has a re-INVITE (with its ACK) from each side and ends
 * with a BYE from one side, then from the other in a second call; every request of the dialog
 * reaches its UA at its own Contact. No message the callee receives names the caller's address,
 * and none the caller receives names the callee's address or ports. Over UDP and TCP.
 */
import type { SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { type PeerTransport, SipPeer } from '../support/sip-peer.js';
import { hangUp, isFinal, isRequest, register, requestLines as lines, sendInvite } from '../support/sip-requests.js';

const OUTSIDE = '127.0.0.2';
const INSIDE = '127.0.0.3';
/**
 * The SDP names a media relay's address (192.0.2.10): topology hiding leaves the body alone (media
 * does not pass through sipedge), so hiding the UAs' own media addresses is the media relay's part.
 */
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

const uriOf = (nameAddr: string) => nameAddr.replace(/^<|>.*$/g, '');
const isCSeq = (match: (m: SipMessage) => boolean, seq: number) => (m: SipMessage) => match(m) && m.cseq.seq === seq;

describe('topology hiding (standalone)', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment('standalone', {
      env: { SIPEDGE_TOPOLOGY_HIDING: 'untrusted', SIPEDGE_TRUSTED: `127.0.0.1/32,${INSIDE}/32` },
    });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it.each<PeerTransport>(['udp', 'tcp'])(
    "over %s: neither side sees the other's addresses; re-INVITEs and BYEs from both sides complete",
    async (transport) => {
      const proxy = { address: '127.0.0.1', port: deployment.port };
      const caller = await SipPeer.open(transport, proxy, OUTSIDE);
      const callee = await SipPeer.open(transport, proxy, INSIDE);
      try {
        const bob = `bob-${transport}`;
        const registered = await register(callee, {
          registrar: `sip:127.0.0.1:${deployment.port}`,
          user: bob,
          domain: '127.0.0.1',
          callId: `th-reg-${transport}`,
        });
        expect(registered).toBe(200);

        for (const hangsUp of ['caller', 'callee'] as const) {
          const tag = `${transport}-${hangsUp}`;
          const callId = `th-${tag}`;
          const from = `<sip:alice@127.0.0.1>;tag=caller-${tag}`;
          const to = `<sip:${bob}@127.0.0.1>`;
          const toTagged = `${to};tag=callee-${tag}`;

          sendInvite(caller, { uri: `sip:${bob}@127.0.0.1`, callId, from, to, user: 'alice' }, SDP);
          const invite = await callee.next(isRequest('INVITE', callId));
          expect(invite.requestUriText).toBe(uriOf(callee.contact(bob)));
          callee.answer(invite, 200, bob, `callee-${tag}`, SDP);
          const ok = await caller.next(isFinal('INVITE', callId, 1));
          expect(ok.status).toBe(200);
          // Each side's dialog (§12.1): the Contact and Record-Routes it was shown.
          const callerRoute = [...ok.values('record-route')].reverse();
          const calleeTarget = uriOf(ok.values('contact')[0]!);
          const calleeRoute = invite.values('record-route');
          const callerTarget = uriOf(invite.values('contact')[0]!);
          const fromCaller = (method: string, cseq: number, contact = false) =>
            lines(caller, {
              method,
              uri: calleeTarget,
              callId,
              cseq,
              from,
              to: toTagged,
              route: callerRoute,
              ...(contact ? { contact: caller.contact('alice') } : {}),
            });
          const fromCallee = (method: string, cseq: number, contact = false) =>
            lines(callee, {
              method,
              uri: callerTarget,
              callId,
              cseq,
              from: toTagged,
              to: from,
              route: calleeRoute,
              ...(contact ? { contact: callee.contact(bob) } : {}),
            });

          caller.send(fromCaller('ACK', 1));
          expect((await callee.next(isRequest('ACK', callId))).requestUriText).toBe(uriOf(callee.contact(bob)));

          // The caller's re-INVITE, answered and acknowledged.
          caller.send(fromCaller('INVITE', 2, true), SDP);
          const reinvite = await callee.next(isCSeq(isRequest('INVITE', callId), 2));
          expect(reinvite.requestUriText).toBe(uriOf(callee.contact(bob)));
          callee.answer(reinvite, 200, bob, `callee-${tag}`, SDP);
          expect((await caller.next(isFinal('INVITE', callId, 2))).status).toBe(200);
          caller.send(fromCaller('ACK', 2));
          await callee.next(isCSeq(isRequest('ACK', callId), 2));

          // The callee's re-INVITE, to the caller's masked Contact: it reaches the caller's own.
          callee.send(fromCallee('INVITE', 1, true), SDP);
          const calleeReinvite = await caller.next(isCSeq(isRequest('INVITE', callId), 1));
          expect(calleeReinvite.requestUriText).toBe(uriOf(caller.contact('alice')));
          caller.answer(calleeReinvite, 200, 'alice', `caller-${tag}`, SDP);
          expect((await callee.next(isFinal('INVITE', callId, 1))).status).toBe(200);
          callee.send(fromCallee('ACK', 1));
          await caller.next(isCSeq(isRequest('ACK', callId), 1));

          const bye =
            hangsUp === 'caller'
              ? await hangUp(
                  caller,
                  callee,
                  { uri: calleeTarget, callId, from, to: toTagged, route: callerRoute },
                  { remoteUser: bob, remoteTag: `callee-${tag}` },
                )
              : await hangUp(
                  callee,
                  caller,
                  { uri: callerTarget, callId, from: toTagged, to: from, route: calleeRoute },
                  { remoteUser: 'alice', remoteTag: `caller-${tag}` },
                );
          expect(bye.status).toBe(200);
        }

        // The callee's ports, unless one happens to be a port the caller knows anyway (its own, the proxy's).
        const known = [caller.port, caller.sourcePort, deployment.port];
        const calleePorts = [callee.port, callee.sourcePort].filter((port) => !known.includes(port));
        const calleeSecrets = [INSIDE, ...calleePorts.map((port) => `:${port}`)];
        const leaks = (received: SipMessage[], secrets: string[]) =>
          received.flatMap((m) => {
            const text = m.toString();
            return secrets.filter((secret) => text.includes(secret)).map((secret) => `${secret} in ${text}`);
          });
        expect(callee.received.length).toBeGreaterThan(10);
        expect(caller.received.length).toBeGreaterThan(10);
        expect(leaks(callee.received, [OUTSIDE])).toEqual([]);
        expect(leaks(caller.received, calleeSecrets)).toEqual([]);
      } finally {
        caller.close();
        callee.close();
      }
    },
    60_000,
  );
});
