/**
 * A call through the proxy core with two workers sharing the memory twins: REGISTER, then
 * INVITE / 100 / 180 / 200 / ACK / BYE / 200 through Record-Route. The queue group spreads the
 * events over both workers, so every step is applied from the shared record, not process memory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sent, Harness, sip } from './harness.js';
import { register, registered, request, requestLines } from './support/requests.js';
import { buildResponse, type SipMessage } from '@sipedge/sip';

const UAC = { address: '192.0.2.1', port: 5060 };
const UAS = { address: '192.0.2.20', port: 5070 };

/** bob's REGISTER from UAS. */
const BOB = { contact: UAS, callId: 'reg-1', branch: 'reg1', extra: ['Expires: 3600'] };

/** The call's Call-ID: its INVITE's, its CANCEL's and those of its requests in the dialog. */
const CALL_ID = 'call-1@uac';
/** The call's INVITE from UAC (a test adds the SDP body). */
const INVITE_LINES = requestLines({
  method: 'INVITE',
  uri: 'sip:bob@example.com',
  callId: CALL_ID,
  via: UAC,
  branch: 'inv1',
  contact: `<sip:alice@${UAC.address}:${UAC.port}>`,
  extra: ['Content-Type: application/sdp'],
});

/** What the UAS answers to the INVITE it received from the proxy (its Via stack copied, §8.2.6). */
function answer(forwarded: SipMessage, status: number, toTag = 'b1'): string {
  const extra: [string, string][] =
    status >= 200 && status < 300 ? [['Contact', `<sip:bob@${UAS.address}:${UAS.port}>`]] : [];
  const rr = forwarded.values('Record-Route');
  const response = buildResponse(forwarded, status, {
    toTag,
    headers: [...rr.map((v) => ['Record-Route', v] as [string, string]), ...extra],
  });
  return response.toString();
}

const to = (s: Sent, who: { address: string; port: number }) =>
  s.meta.destination.address === who.address && s.meta.destination.port === who.port;

describe('a call through two workers', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start(2);
  });
  afterEach(() => h.stop());

  it('registers, then completes INVITE/180/200/ACK/BYE through Record-Route', async () => {
    const registration = await registered(h, BOB);
    expect(registration.message.get('CSeq')).toBe('1 REGISTER');
    expect(registration.message.values('Contact')[0]).toContain(`sip:bob@${UAS.address}:${UAS.port}`);
    expect(registration.message.has('Record-Route')).toBe(false);

    await h.receive(sip(INVITE_LINES, 'v=0\r\n'), UAC);
    const trying = await h.waitFor((s) => s.message.status === 100);
    expect(to(trying, UAC)).toBe(true);
    expect(trying.message.to.tag).toBeUndefined();
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE' && to(s, UAS))).message;
    expect(invite.requestUriText).toBe(`sip:bob@${UAS.address}:${UAS.port}`);
    expect(invite.maxForwards).toBe(69);
    expect(invite.vias).toHaveLength(2);
    expect(invite.topVia?.branch).toMatch(/^z9hG4bKP/);
    expect(invite.values('Record-Route')[0]).toMatch(/^<sip:[^@]+@127\.0\.0\.1:5060;lr;sipedge>$/);
    expect(invite.body.toString()).toBe('v=0\r\n');

    await h.receive(answer(invite, 180), UAS);
    const ringing = await h.waitFor((s) => s.message.status === 180);
    expect(to(ringing, UAC)).toBe(true);
    expect(ringing.message.vias.map((v) => v.branch)).toEqual(['z9hG4bKinv1']);

    await h.receive(answer(invite, 200), UAS);
    const ok = (await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '1 INVITE')).message;
    expect(ok.values('Record-Route')).toEqual(invite.values('Record-Route'));

    const route = ok.values('Record-Route');
    const inDialog = (method: string, cseq: number, branch: string) =>
      request({
        method,
        uri: `sip:bob@${UAS.address}:${UAS.port}`,
        callId: CALL_ID,
        via: UAC,
        branch,
        route,
        to: '<sip:bob@example.com>;tag=b1',
        cseq,
      });
    await h.receive(inDialog('ACK', 1, 'ack1'), UAC);
    const ack = await h.waitFor((s) => s.message.isRequest && s.message.method === 'ACK');
    expect(to(ack, UAS)).toBe(true);
    expect(ack.message.has('Route')).toBe(false);

    await h.receive(inDialog('BYE', 2, 'bye1'), UAC);
    const bye = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'BYE')).message;
    expect(bye.has('Route')).toBe(false);
    await h.receive(answer(bye, 200, 'b1'), UAS);
    const byeOk = await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '2 BYE');
    expect(to(byeOk, UAC)).toBe(true);
  });

  it('forwards a 180 and a 200 that arrive back to back in the order they were taken, though the 180 has more timer work (§16.7 step 5)', async () => {
    const slow = await Harness.start(1, {}, {}, 20);
    try {
      await registered(slow, BOB);
      for (let call = 1; call <= 5; call++) {
        const callId = `race-${call}@uac`;
        const lines = INVITE_LINES.map((l) =>
          l.startsWith('Call-ID:') ? `Call-ID: ${callId}` : l.replace('inv1', `race${call}`),
        );
        await slow.receive(sip(lines, 'v=0\r\n'), UAC);
        const invite = (
          await slow.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === callId)
        ).message;
        // The 180 restarts Timer C and cancels Timers A and B; the 200 only cancels Timer C.
        await Promise.all([slow.receive(answer(invite, 180), UAS), slow.receive(answer(invite, 200), UAS)]);
        await slow.waitFor((s) => s.message.status === 200 && s.message.callId === callId);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const upstream = slow.sent
          .filter((s) => s.message.callId === callId && to(s, UAC))
          .map((s) => s.message.status);
        expect(upstream.filter((status) => status !== 100)).toEqual([180, 200]);
      }
    } finally {
      await slow.stop();
    }
  });

  it('§16.5, §11: answers a known AOR without bindings with 480 and an OPTIONS to the proxy itself with 200', async () => {
    await h.receive(sip(INVITE_LINES.map((l) => l.replace('bob@example.com', 'nobody@example.com'))), UAC);
    expect((await h.waitFor((s) => s.message.status >= 400)).message.status).toBe(480);
    const options = request({
      method: 'OPTIONS',
      uri: 'sip:127.0.0.1:5060',
      callId: 'opt-1',
      via: UAC,
      branch: 'opt',
      to: '<sip:127.0.0.1>',
      from: '<sip:alice@example.com>;tag=o1',
    });
    await h.receive(options, UAC);
    const allowed = await h.waitFor((s) => s.message.get('CSeq') === '1 OPTIONS');
    expect(allowed.message.status).toBe(200);
    expect(allowed.message.values('Allow')).toContain('INVITE');
  });

  it('CANCEL after 180: 200 for the CANCEL, CANCEL downstream, 487 upstream', async () => {
    await registered(h, BOB);
    await h.receive(sip(INVITE_LINES), UAC);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(answer(invite, 180), UAS);
    await h.waitFor((s) => s.message.status === 180);
    // §9.1: the CANCEL has the INVITE's Request-URI, top Via, Call-ID, From, To and CSeq number.
    await h.receive(
      request({ method: 'CANCEL', uri: 'sip:bob@example.com', callId: CALL_ID, via: UAC, branch: 'inv1' }),
      UAC,
    );
    expect((await h.waitFor((s) => s.message.get('CSeq') === '1 CANCEL' && s.message.isResponse)).message.status).toBe(
      200,
    );
    const cancel = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL')).message;
    expect(cancel.topVia?.branch).toBe(invite.topVia?.branch);
    // The UAS answers the CANCEL (same branch, CSeq CANCEL): that 200 must not be taken for the INVITE's.
    await h.receive(buildResponse(cancel, 200, { toTag: 'b1' }).toString(), UAS);
    await h.receive(answer(invite, 487), UAS);
    expect((await h.waitFor((s) => s.message.status === 487)).meta.destination).toEqual(UAC);
    expect(h.sent.filter((s) => s.message.status === 200 && s.message.get('CSeq') === '1 CANCEL')).toHaveLength(1);
    // The 487 is ACKed hop by hop with the fork's branch (§17.1.1.3).
    const ack = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'ACK')).message;
    expect(ack.topVia?.branch).toBe(invite.topVia?.branch);
  });

  it('spreads the events of one call over both workers', async () => {
    await registered(h, BOB);
    const before = [...h.workers.keys()].map((i) => h.taken[i] ?? 0);
    await h.receive(sip(INVITE_LINES), UAC);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(answer(invite, 180), UAS);
    await h.receive(answer(invite, 200), UAS);
    await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '1 INVITE');
    // Each worker took some of the call's three messages from the bus (queue group).
    for (const i of h.workers.keys()) expect(h.taken[i] ?? 0).toBeGreaterThan(before[i]!);
  });

  it('sends through any live edge when the edge that received the request is gone', async () => {
    await h.receive(register(BOB), UAS);
    await h.waitFor((s) => s.message.status === 200 && s.subject === 'sipedge.edge.e1.out');
    await h.stores.edges.remove('e1');
    await new Promise((r) => setTimeout(r, 2100)); // the workers refresh their live-edge list
    await h.receive(sip(INVITE_LINES), UAC);
    const trying = await h.waitFor((s) => s.message.status === 100);
    expect(trying.subject).toBe('sipedge.out');
  }, 10_000);

  it('reaches an edge that started after the live-edge list was read, on its own subject at once', async () => {
    await h.stop();
    // The workers read the live-edge list before e1 starts (as in standalone mode) and not again for an hour.
    h = await Harness.start(2, {}, { liveEdgesRefreshMs: 3_600_000 }, 0, false);
    await new Promise((r) => setTimeout(r, 300));
    await h.stores.edges.heartbeat('e1', 60_000, Date.now());
    await h.receive(register(BOB), UAS, 'tcp');
    const ok = await h.waitFor((s) => s.message.status === 200);
    expect([ok.subject, ok.meta.flowId]).toEqual(['sipedge.edge.e1.out', 'f-e1-1']);
  }, 10_000);
});
