/**
 * Issue 6 requirements not covered elsewhere (worker level, memory twins): cross-transport
 * retransmission, the advertised address, non-blocking DNS, failover and the connection blacklist,
 * stateless forwarding of responses and ACKs, stateless mode, requests to the proxy itself and
 * bindings shared between workers.
 */
import { buildResponse, parseMessage } from '@sipedge/sip';
import { parseOurBranch } from '@sipedge/proxy';
import { DEFAULT_TIMERS, serverKey } from '@sipedge/transaction';
import { contextIdOf, recordKey } from '../src/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Harness, resolveIpLiteral } from './harness.js';
import { registered, request as sipRequest } from './support/requests.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const UAS = { address: '192.0.2.20', port: 5070 };
/** bob's REGISTER from UAS. */
const BOB = { contact: UAS, callId: 'rows-reg', branch: 'rows' };
/** A request from UAC, To its Request-URI. */
const request = (method: string, uri: string, callId: string) =>
  sipRequest({ method, uri, callId, via: UAC, to: `<${uri}>` });

describe('issue 6 rows at the worker', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('§17.1.1.2: a TCP client and a UDP downstream: the worker retransmits downstream (Timer A), never upstream', async () => {
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, t1: 20 } });
    await registered(h, BOB);
    await h.receive(request('INVITE', 'sip:bob@example.com', 'b8'), UAC, 'tcp');
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    await new Promise((r) => setTimeout(r, 400));
    const down = h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(down.length).toBeGreaterThanOrEqual(3);
    expect(down.every((s) => s.meta.transport === 'udp')).toBe(true);
    const up = h.sent.filter((s) => s.message.isResponse && s.message.get('Call-ID') === 'b8');
    expect(up.map((s) => [s.message.status, s.meta.transport, s.meta.flowId])).toEqual([[100, 'tcp', 'f-e1-1']]);
  });

  it('§16.6 steps 4 and 8: the forwarded request carries the advertised address in its Via and Record-Route', async () => {
    h = await Harness.start(1);
    await registered(h, BOB);
    await h.receive(request('INVITE', 'sip:bob@example.com', 'b13'), UAC);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    expect(invite.topVia?.sentBy).toBe('127.0.0.1:5060');
    expect(invite.values('Record-Route')[0]).toContain('@127.0.0.1:5060;lr');
  });

  it('a slow DNS answer for one target does not hold up other requests', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    h = await Harness.start(2, {
      resolve: async (hop) => {
        if (hop.host === '192.0.2.77') await slow;
        return resolveIpLiteral(hop);
      },
    });
    await h.receive(request('OPTIONS', 'sip:x@192.0.2.77', 'b17-slow'), UAC);
    await h.receive(request('OPTIONS', 'sip:x@192.0.2.78', 'b17-fast'), UAC);
    const fast = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'b17-fast');
    expect(fast.meta.destination.address).toBe('192.0.2.78');
    expect(h.sent.some((s) => s.message.get('Call-ID') === 'b17-slow')).toBe(false);
    release();
    await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'b17-slow');
  });

  it('§16.7, §16.11: a response with our Via but no context is forwarded statelessly to the next Via; a foreign Via is dropped', async () => {
    h = await Harness.start(1);
    const stray = (topVia: string) =>
      [
        'SIP/2.0 200 OK',
        `Via: ${topVia}`,
        `Via: SIP/2.0/UDP ${UAC.address}:5090;branch=z9hG4bKupstream`,
        'To: <sip:bob@example.com>;tag=b',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: d18',
        'CSeq: 1 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    await h.receive(stray('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKPunknown.0.0.nocontext'), UAS);
    const forwarded = await h.waitFor((s) => s.message.status === 200);
    expect(forwarded.meta.destination).toEqual({ address: UAC.address, port: 5090 });
    expect(forwarded.message.vias).toHaveLength(1);
    await h.receive(
      stray('SIP/2.0/UDP elsewhere.example.net;branch=z9hG4bKx').replace('Call-ID: d18', 'Call-ID: d18b'),
      UAS,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sent.filter((s) => s.message.get('Call-ID') === 'd18b')).toEqual([]);
  });

  it('§16.7, §17.2.1: the ACK for a non-2xx is absorbed; the ACK for a 2xx goes end to end', async () => {
    h = await Harness.start(2);
    await registered(h, BOB);
    await h.receive(request('INVITE', 'sip:bob@example.com', 'd23'), UAC);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(buildResponse(invite, 486, { toTag: 'busy' }).toString(), UAS);
    const busy = (await h.waitFor((s) => s.message.status === 486)).message;
    const ackForBusy = request('ACK', 'sip:bob@example.com', 'd23').replace(
      'To: <sip:bob@example.com>',
      `To: <sip:bob@example.com>;tag=${busy.to.tag}`,
    );
    await h.receive(ackForBusy, UAC);
    await new Promise((r) => setTimeout(r, 50));
    // Only the proxy's own hop-by-hop ACK (same branch as its INVITE) reached the UAS.
    const acks = h.sent.filter((s) => s.message.isRequest && s.message.method === 'ACK');
    expect(acks.map((s) => s.message.topVia?.branch)).toEqual([invite.topVia?.branch]);
  });

  it('§8.2.1: another method addressed to the proxy itself gets 405 with Allow', async () => {
    h = await Harness.start(1);
    await h.receive(request('MESSAGE', 'sip:127.0.0.1:5060', 'f2'), UAC);
    const res = (await h.waitFor((s) => s.message.isResponse)).message;
    expect(res.status).toBe(405);
    expect(res.values('Allow')).toEqual(['OPTIONS']);
  });

  it('§12.2.2, §9.2: addressed to the proxy itself: in-dialog without a dialog → 481, unmatched CANCEL → 481, unmatched ACK → nothing', async () => {
    h = await Harness.start(1);
    const self = 'sip:127.0.0.1:5060';
    await h.receive(
      request('BYE', self, 'f2-bye').replace('To: <sip:127.0.0.1:5060>', 'To: <sip:127.0.0.1:5060>;tag=gone'),
      UAC,
    );
    const bye = (await h.waitFor((s) => s.message.isResponse && s.message.get('Call-ID') === 'f2-bye')).message;
    expect(bye.status).toBe(481);
    await h.receive(request('ACK', self, 'f2-ack'), UAC);
    await h.receive(request('CANCEL', self, 'f2-cancel'), UAC);
    const cancel = (await h.waitFor((s) => s.message.get('Call-ID') === 'f2-cancel')).message;
    expect(cancel.status).toBe(481);
    expect(cancel.cseq.method).toBe('CANCEL');
    // Nothing was forwarded, and the ACK got no answer.
    expect(h.sent.filter((s) => s.message.isRequest)).toEqual([]);
    expect(h.sent.some((s) => s.message.get('Call-ID') === 'f2-ack')).toBe(false);
  });

  it('§10.3 step 7: a binding registered through one worker is used by another at once', async () => {
    h = await Harness.start(2);
    await registered(h, BOB);
    const registrar = (h.taken[0] ?? 0) > 0 ? 0 : 1;
    const before = h.taken[1 - registrar] ?? 0;
    await h.workers[registrar]!.stop();
    await h.receive(request('INVITE', 'sip:bob@example.com', 'e3'), UAC);
    const invite = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(invite.meta.destination).toEqual(UAS);
    expect(h.taken[1 - registrar] ?? 0).toBeGreaterThan(before);
  });

  it('§16.6 step 7: a failed attempt moves to the next resolved hop with a new branch (transport error, then 503)', async () => {
    const X = { transport: 'tcp' as const, address: '192.0.2.50', port: 5060 };
    const Y = { transport: 'udp' as const, address: '192.0.2.51', port: 5060 };
    const Z = { transport: 'udp' as const, address: '192.0.2.52', port: 5060 };
    h = await Harness.start(2, {
      resolve: async (hop) => (hop.host === 'multi.test' ? [X, Y, Z] : resolveIpLiteral(hop)),
    });
    h.unreachable.add(`${X.address}:${X.port}`);
    await h.receive(request('INVITE', 'sip:carol@multi.test', 'b19'), UAC);
    const toY = (await h.waitFor((s) => s.message.isRequest && s.meta.destination.address === Y.address)).message;
    expect(parseOurBranch(toY.topVia!.branch!)).toMatchObject({ kind: 'fork', forkIndex: 0, attempt: 1 });
    await h.receive(buildResponse(toY, 503, { toTag: 'y' }).toString(), { address: Y.address, port: Y.port });
    const toZ = (
      await h.waitFor(
        (s) => s.message.isRequest && s.message.method === 'INVITE' && s.meta.destination.address === Z.address,
      )
    ).message;
    expect(parseOurBranch(toZ.topVia!.branch!)).toMatchObject({ attempt: 2 });
    await h.receive(buildResponse(toZ, 200, { toTag: 'z' }).toString(), { address: Z.address, port: Z.port });
    const ok = await h.waitFor(
      (s) => s.message.isResponse && s.message.get('Call-ID') === 'b19' && s.message.status >= 200,
    );
    expect(ok.message.status).toBe(200);
    // The 503 was ACKed hop by hop and never went upstream.
    await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'ACK' && s.meta.destination.address === Y.address,
    );
    expect(h.sent.some((s) => s.message.status === 503 || s.message.status === 500)).toBe(false);
  });

  it('§18.1.1: a request the size rule moved from UDP to TCP is retried over UDP when the connection is refused', async () => {
    h = await Harness.start(1);
    const D = { address: '192.0.2.70', port: 5060 };
    h.unreachable.add(`tcp:${D.address}:${D.port}`);
    const sdp = `v=0\r\n${'a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n'.repeat(40)}`;
    const big = sipRequest(
      {
        method: 'INVITE',
        uri: `sip:carol@${D.address}:${D.port}`,
        callId: 'mtu',
        via: UAC,
        to: `<sip:carol@${D.address}>`,
        extra: ['Content-Type: application/sdp'],
      },
      sdp,
    );
    await h.receive(big, UAC);
    const sent = await h.waitFor((s) => s.message.isRequest && s.meta.destination.address === D.address);
    expect(sent.meta.transport).toBe('udp');
    expect(sent.message.topVia!.transport).toBe('UDP');
    expect(sent.message.toBuffer().length).toBeGreaterThan(1300);
    // The TCP attempt came first (the size rule), then the same branch over UDP.
    expect(h.tried.filter((d) => d === `${D.address}:${D.port}`)).toHaveLength(2);
    expect(parseOurBranch(sent.message.topVia!.branch!)).toMatchObject({ attempt: 0 });
    await h.receive(buildResponse(sent.message, 200, { toTag: 'c' }).toString(), D);
    const ok = await h.waitFor(
      (s) => s.message.isResponse && s.message.get('Call-ID') === 'mtu' && s.message.status >= 200,
    );
    expect(ok.message.status).toBe(200);
  });

  describe('the connection blacklist', () => {
    // TCP: the edge reports a refused connection at once (a transport error, §18.4).
    const X = { transport: 'tcp' as const, address: '192.0.2.60', port: 5060 };
    const Y = { transport: 'udp' as const, address: '192.0.2.61', port: 5060 };
    const resolve = async (hop: Parameters<typeof resolveIpLiteral>[0]) =>
      hop.host === 'pair.test' ? [X, Y] : hop.host === 'only-x.test' ? [X] : resolveIpLiteral(hop);
    const at = (t: { address: string; port: number }) => `${t.address}:${t.port}`;
    const firstInvite = async (callId: string, uri = 'sip:carol@pair.test') => {
      const before = h.tried.length;
      await h.receive(request('INVITE', uri, callId), UAC);
      const sent = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === callId);
      // Downstream only: the 100 (Trying) to the UAC is not a tuple choice.
      return { tried: h.tried.slice(before).filter((d) => d !== at(UAC)), sent };
    };

    it('a failed tuple is skipped by new calls on any worker; used anyway when it is the only one; an answer clears it', async () => {
      h = await Harness.start(2, { resolve }, { blacklist: { ttlMs: 60_000, refreshMs: 0 } });
      h.unreachable.add(at(X));
      const first = await firstInvite('b20-1');
      expect(first.tried).toEqual([at(X), at(Y)]);
      h.unreachable.delete(at(X));
      // Two more calls (the queue group spreads them over both workers): no packet to X.
      for (const id of ['b20-2', 'b20-3']) expect((await firstInvite(id)).tried).toEqual([at(Y)]);
      // Every tuple of the target blacklisted: the preferred one is tried; its answer clears it.
      const only = await firstInvite('b20-4', 'sip:carol@only-x.test');
      expect(only.tried).toEqual([at(X)]);
      await h.receive(buildResponse(only.sent.message, 180, { toTag: 'x' }).toString(), X);
      await h.waitFor((s) => s.message.status === 180 && s.message.get('Call-ID') === 'b20-4');
      await vi.waitFor(async () => expect((await firstInvite(`b20-5-${Date.now()}`)).tried).toEqual([at(X)]));
    });

    it('a blacklisted tuple is tried again once its TTL has run out', async () => {
      h = await Harness.start(1, { resolve }, { blacklist: { ttlMs: 200, refreshMs: 0 } });
      h.unreachable.add(at(X));
      expect((await firstInvite('b20-ttl-1')).tried).toEqual([at(X), at(Y)]);
      h.unreachable.delete(at(X));
      expect((await firstInvite('b20-ttl-2')).tried).toEqual([at(Y)]);
      await new Promise((r) => setTimeout(r, 250));
      expect((await firstInvite('b20-ttl-3')).tried).toEqual([at(X)]);
    });
  });

  it('§16.11: stateless mode: identical branch for a retransmitted INVITE, no 100, CANCEL to the same target, no records', async () => {
    h = await Harness.start(2, {}, { stateless: true });
    await registered(h, BOB);
    const invite = request('INVITE', 'sip:bob@example.com', 'd25');
    await h.receive(invite, UAC);
    await h.receive(invite, UAC);
    await h.waitFor(() => h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE').length === 2);
    const invites = h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(invites[0]!.message.topVia?.branch).toBe(invites[1]!.message.topVia?.branch);
    expect(invites.every((s) => s.meta.destination.address === UAS.address)).toBe(true);
    expect(h.sent.some((s) => s.message.status === 100)).toBe(false);
    await h.receive(request('CANCEL', 'sip:bob@example.com', 'd25'), UAC);
    const cancel = await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL');
    expect(cancel.meta.destination).toEqual(invites[0]!.meta.destination);
    expect(cancel.message.topVia?.branch).toBe(invites[0]!.message.topVia?.branch);
    // The UAS's 180 goes back by Via, without any record.
    await h.receive(buildResponse(invites[0]!.message, 180, { toTag: 'b' }).toString(), UAS);
    expect((await h.waitFor((s) => s.message.status === 180)).meta.destination).toEqual(UAC);
    expect(await h.stores.records.load([recordKey(contextIdOf(serverKey(parseMessage(Buffer.from(invite)))))])).toEqual(
      [null],
    );
  });
});
