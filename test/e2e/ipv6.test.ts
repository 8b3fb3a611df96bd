/**
 * A call between an IPv6 phone and an IPv4 phone (issue 15, RFC 5658): sipedge listens on
 * 127.0.0.1 and [::1] at one port and advertises ::1 to IPv6 peers (SIPEDGE_ADVERTISED_IPV6). The
 * callee registers over ::1, the caller calls from 127.0.0.1. The INVITE reaching the callee names
 * our IPv6 address in its Via and in the Record-Route facing it, our IPv4 address in the one facing
 * the caller; each side's in-dialog requests (ACK from the caller, BYE from the callee) reach the
 * other side through those routes. Over UDP and TCP, standalone and distributed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { type PeerTransport, SipPeer } from '../support/sip-peer.js';
import { isFinal, isRequest, hangUp, register, requestLines, sendInvite } from '../support/sip-requests.js';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

describe.each<Mode>(['standalone', 'distributed'])('IPv4 ↔ IPv6 (%s)', (mode) => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment(mode, { ipv6: true });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it.each<PeerTransport>(['udp', 'tcp'])(
    'over %s: each side gets our address of its family, and the dialog works both ways',
    async (transport) => {
      const port = deployment.port;
      const callee = await SipPeer.open(transport, { address: '::1', port }, '::1');
      const caller = await SipPeer.open(transport, { address: '127.0.0.1', port });
      try {
        const tag = `${mode}-${transport}`;
        const bob = `bob6-${tag}`;
        const callId = `ipv6-${tag}`;
        const registrar = `sip:[::1]:${port}`;
        expect(await register(callee, { registrar, user: bob, domain: '127.0.0.1', callId: `reg6-${tag}` })).toBe(200);

        const from = `<sip:alice@127.0.0.1>;tag=caller-${tag}`;
        const to = `<sip:${bob}@127.0.0.1>`;
        sendInvite(caller, { uri: `sip:${bob}@127.0.0.1`, callId, from, to, user: 'alice' }, SDP);
        const invite = await callee.next(isRequest('INVITE', callId));
        const transportParam = transport === 'tcp' ? ';transport=tcp' : '';
        expect(invite.topVia!.host).toBe('[::1]');
        expect(invite.topVia!.port).toBe(port);
        const recordRoutes = invite.values('record-route');
        expect(recordRoutes).toHaveLength(2);
        expect(recordRoutes[0]).toMatch(new RegExp(`^<sip:[^@]+@\\[::1\\]:${port}${transportParam};lr;sipedge>$`));
        expect(recordRoutes[1]).toMatch(
          new RegExp(`^<sip:[^@]+@127\\.0\\.0\\.1:${port}${transportParam};lr;sipedge>$`),
        );

        callee.answer(invite, 200, bob, `callee-${tag}`, SDP);
        const ok = await caller.next(isFinal('INVITE', callId, 1));
        expect(ok.status).toBe(200);
        const toTagged = `${to};tag=${ok.to.tag!}`;
        const calleeContact = ok.values('contact')[0]!.replace(/^<|>$/g, '');
        expect(calleeContact).toContain('[::1]');

        // The caller's ACK: its route set is the Record-Routes reversed, our IPv4 URI first (§12.1.2).
        caller.send(
          requestLines(caller, {
            method: 'ACK',
            uri: calleeContact,
            callId,
            cseq: 1,
            from,
            to: toTagged,
            route: [...ok.values('record-route')].reverse(),
          }),
        );
        const ack = await callee.next(isRequest('ACK', callId));
        expect(ack.topVia!.host).toBe('[::1]');

        // The callee hangs up over IPv6: its route set starts with our IPv6 URI (§12.1.1).
        const uri = caller.contact('alice').replace(/^<|>$/g, '');
        const bye = await hangUp(
          callee,
          caller,
          { uri, callId, from: `${to};tag=callee-${tag}`, to: from, route: recordRoutes },
          { remoteUser: 'alice', remoteTag: `caller-${tag}` },
        );
        expect(bye.received.topVia!.host).toBe('127.0.0.1');
        expect(bye.received.has('route')).toBe(false);
        expect(bye.status).toBe(200);
      } finally {
        callee.close();
        caller.close();
      }
    },
    60_000,
  );
});
