/**
 * Standalone mode's link (`LocalLink`): the edge hands the worker of its process the message it
 * parsed, and the worker sends through that edge, by calls and not over the bus. A call, a
 * transport error reported back (§16.9) and an edge that leaves the link (the bus again).
 */
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, logger, resolveIpLiteral } from './harness.js';
import { registered, request } from './support/requests.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const UAS = { address: '192.0.2.20', port: 5070 };
const BOB = { contact: UAS, callId: 'reg-1', branch: 'reg1', extra: ['Expires: 3600'] };

/** Every subject a message crossed the bus on, from now on. */
async function busSubjects(h: Harness): Promise<string[]> {
  const subjects: string[] = [];
  await h.hub.connect({ logger }).subscribe('sipedge.>', (m) => void subjects.push(m.subject));
  return subjects;
}

describe('the worker and the edge of one process (LocalLink)', () => {
  let h: Harness;
  afterEach(() => h.stop());

  it('completes a call with every message passed by a call, none over the bus', async () => {
    h = await Harness.startLinked();
    const subjects = await busSubjects(h);
    await registered(h, BOB);
    await h.receive(request({ method: 'INVITE', uri: 'sip:bob@example.com', callId: 'c1', via: UAC }), UAC);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    expect(invite.requestUriText).toBe(`sip:bob@${UAS.address}:${UAS.port}`);
    await h.receive(buildResponse(invite, 180, { toTag: 'b1' }).toString(), UAS);
    await h.waitFor((s) => s.message.status === 180);
    const okToInvite = buildResponse(invite, 200, {
      toTag: 'b1',
      headers: [
        ['Contact', `<sip:bob@${UAS.address}:${UAS.port}>`],
        ...invite.values('Record-Route').map((v) => ['Record-Route', v] as [string, string]),
      ],
    });
    await h.receive(okToInvite.toString(), UAS);
    const ok = await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '1 INVITE');
    const inDialog = (method: string, cseq: number) =>
      request({
        method,
        uri: `sip:bob@${UAS.address}:${UAS.port}`,
        callId: 'c1',
        via: UAC,
        branch: `${method}${cseq}`,
        route: ok.message.values('Record-Route'),
        to: '<sip:bob@example.com>;tag=b1',
        cseq,
      });
    await h.receive(inDialog('ACK', 1), UAC);
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'ACK');
    await h.receive(inDialog('BYE', 2), UAC);
    const bye = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'BYE')).message;
    await h.receive(buildResponse(bye, 200).toString(), UAS);
    await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '2 BYE');

    expect(h.sent.map((s) => s.subject).filter((subject) => subject !== 'local')).toEqual([]);
    expect(h.sent.map((s) => (s.message.isRequest ? s.message.method : s.message.status))).toEqual(
      expect.arrayContaining([100, 'INVITE', 180, 200, 'ACK', 'BYE']),
    );
    expect(subjects.filter((s) => s === 'sipedge.in' || s.startsWith('sipedge.edge.') || s === 'sipedge.out')).toEqual(
      [],
    );
  });

  it('§16.9: a request the edge could not deliver is reported back through the link, and the next hop is tried', async () => {
    const X = { transport: 'tcp' as const, address: '192.0.2.50', port: 5060 };
    const Y = { transport: 'udp' as const, address: '192.0.2.51', port: 5060 };
    h = await Harness.startLinked({
      resolve: async (hop) => (hop.host === 'multi.test' ? [X, Y] : resolveIpLiteral(hop)),
    });
    h.unreachable.add(`${X.address}:${X.port}`);
    await h.receive(request({ method: 'INVITE', uri: 'sip:carol@multi.test', callId: 'c2', via: UAC }), UAC);
    const toY = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(toY.meta.destination).toEqual({ address: Y.address, port: Y.port });
    expect(h.tried).toEqual(expect.arrayContaining([`${X.address}:${X.port}`, `${Y.address}:${Y.port}`]));
    expect(toY.subject).toBe('local');
  });

  it('sends over the bus once its edge has left the link, and takes hand-offs from the bus as well', async () => {
    h = await Harness.startLinked();
    const link = h.link!;
    const worker = link.worker!;
    // The stand-in edge leaves the link; the worker stays.
    h.leaveLink();
    expect(link.edge('e1')).toBeUndefined();
    await h.receive(request({ method: 'OPTIONS', uri: 'sip:bob@example.com', callId: 'c3', via: UAC }), UAC);
    const answered = await h.waitFor((s) => s.message.get('Call-ID') === 'c3');
    expect(answered.subject).toBe('sipedge.edge.e1.out');
    expect(link.worker).toBe(worker);
  });

  it('drops a hand-off from the bus whose bytes do not parse, and takes the next one', async () => {
    h = await Harness.start(1);
    // Over TCP the edge waits for the worker's answer: a drop answers it, a throw would reject it.
    await expect(h.receive('NOT A SIP MESSAGE\r\n\r\n', UAC, 'tcp')).resolves.toBeUndefined();
    expect(h.taken[0]).toBe(1);
    await h.receive(request({ method: 'OPTIONS', uri: 'sip:bob@example.com', callId: 'c4', via: UAC }), UAC);
    await h.waitFor((s) => s.message.get('Call-ID') === 'c4');
  });
});
