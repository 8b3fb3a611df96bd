/**
 * A call through the whole system over real sockets: SIP clients on UDP → edge → NATS → two
 * workers (state in Redis, timers in BullMQ) → edge → SIP clients. The worker that took the INVITE
 * leaves, and the other completes the call from the state in Redis.
 */
import { buildResponse, type SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, nextMessage as next } from '../support/cluster.js';
import { UdpClient, sipRequest } from '../support/sip-client.js';

describe('a call through an edge and two workers (NATS, Redis, BullMQ)', () => {
  let cluster: Cluster;
  let edgePort: number;
  beforeAll(async () => {
    cluster = await Cluster.start();
    edgePort = cluster.edgePort;
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('REGISTER, then INVITE/100/180/200/ACK and BYE/200 through Record-Route', async () => {
    const uas = await UdpClient.open();
    const uac = await UdpClient.open();
    const contact = `<sip:bob@127.0.0.1:${uas.port}>`;
    await uas.send(
      sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bKreg1`,
        callId: 'it-reg-1',
        extra: [`Contact: ${contact}`, 'Expires: 300'],
      }).replace('From: <sip:alice@example.com>;tag=a1', 'From: <sip:bob@example.com>;tag=r1'),
      edgePort,
    );
    expect((await next(uas, (m) => m.isResponse && m.cseq.method === 'REGISTER')).status).toBe(200);

    await uac.send(
      sipRequest('INVITE', {
        via: `SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bKit1`,
        callId: 'it-call-1',
        body: 'v=0\r\n',
        extra: [`Contact: <sip:alice@127.0.0.1:${uac.port}>`],
      }),
      edgePort,
    );
    expect((await next(uac, (m) => m.status === 100)).to.tag).toBeUndefined();
    const invite = await next(uas, (m) => m.isRequest && m.method === 'INVITE');
    // The worker that took the INVITE leaves; everything else of the call is done by the other one
    // from the state in Redis.
    const first = cluster.handled[0]! > 0 ? 0 : 1;
    await cluster.workers[first]!.stop();
    const before = cluster.handled[1 - first]!;
    expect(invite.requestUriText).toBe(`sip:bob@127.0.0.1:${uas.port}`);
    const rr = invite.values('Record-Route');
    expect(rr[0]).toContain(`@127.0.0.1:${edgePort};lr`);
    const respond = async (request: SipMessage, status: number) => {
      const extra: [string, string][] = rr.map((r) => ['Record-Route', r]);
      if (status === 200) extra.push(['Contact', contact]);
      await uas.send(buildResponse(request, status, { toTag: 'b1', headers: extra }).toBuffer(), edgePort);
    };
    await respond(invite, 180);
    expect((await next(uac, (m) => m.status === 180)).vias).toHaveLength(1);
    await respond(invite, 200);
    const ok = await next(uac, (m) => m.status === 200 && m.cseq.method === 'INVITE');
    const routes = ok.values('Record-Route');
    const inDialog = (method: string, cseq: number, branch: string) =>
      [
        `${method} sip:bob@127.0.0.1:${uas.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=${branch}`,
        'Max-Forwards: 70',
        ...routes.map((r) => `Route: ${r}`),
        'To: <sip:bob@example.com>;tag=b1',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: it-call-1',
        `CSeq: ${cseq} ${method}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    await uac.send(inDialog('ACK', 1, 'z9hG4bKitack'), edgePort);
    expect((await next(uas, (m) => m.isRequest && m.method === 'ACK')).has('Route')).toBe(false);
    await uac.send(inDialog('BYE', 2, 'z9hG4bKitbye'), edgePort);
    const bye = await next(uas, (m) => m.isRequest && m.method === 'BYE');
    await uas.send(buildResponse(bye, 200, { toTag: 'b1' }).toBuffer(), edgePort);
    expect((await next(uac, (m) => m.status === 200 && m.cseq.method === 'BYE')).get('Call-ID')).toBe('it-call-1');
    // The other worker handled the 180, 200, ACK, BYE and its 200.
    expect(cluster.handled[1 - first]! - before).toBeGreaterThanOrEqual(5);
    uas.close();
    uac.close();
  }, 30_000);
});
