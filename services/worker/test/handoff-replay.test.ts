/**
 * A worker that dies in the middle of a call's step, and who takes the call over.
 *
 * - Over TCP the edge sends a message to a worker as a NATS request and sends it again, marked
 *   `redelivered`, when no answer comes in time. A retry after the transaction ended is absorbed
 *   (the finished record is kept for the edges' replay window, `finishedRecordKeepMs`; Timers J and
 *   K are 0 over TCP, RFC 3261 §17.2.2, §17.1.2.2); a retry finds a fork the dead worker committed
 *   but never sent, and sends it, or a record it took but never routed, and routes it.
 * - Over UDP the caller's retransmissions do the same: an INVITE's 100 Trying waits for its fork
 *   (§17.2.1), so a caller whose worker died before the fork went out has no provisional response
 *   and retransmits (§17.1.1.2); the worker that takes a retransmission runs the fork's
 *   retransmission timer, or routes a record whose decision stalled.
 */
import { buildResponse } from '@sipedge/sip';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLEE, CALLER, Harness, inviteLines, sip } from './harness.js';

const message = (branch: string) =>
  sip(
    [
      `MESSAGE sip:carol@${CALLEE.address}:${CALLEE.port};transport=tcp SIP/2.0`,
      `Via: SIP/2.0/TCP ${CALLER.address}:${CALLER.port};branch=${branch}`,
      'Max-Forwards: 70',
      'To: <sip:carol@example.net>',
      'From: <sip:alice@example.com>;tag=a1',
      `Call-ID: ${branch}-call`,
      'CSeq: 1 MESSAGE',
      'Content-Type: text/plain',
    ],
    'hello',
  );

describe('a hand-off retried after its transaction ended', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  const forwarded = () => h.sent.filter((s) => s.message.isRequest && s.message.method === 'MESSAGE');

  async function completeOnce(branch: string): Promise<void> {
    await h.receive(message(branch), CALLER, 'tcp');
    const out = await h.waitFor((s) => s.message.isRequest && s.message.method === 'MESSAGE');
    await h.receive(buildResponse(out.message, 200, { toTag: 'c1' }).toString(), CALLEE, 'tcp');
    await h.waitFor((s) => s.message.status === 200);
  }

  it('is absorbed: the callee gets the request once', async () => {
    h = await Harness.start(2, {}, { finishedRecordKeepMs: 2000 });
    await completeOnce('z9hG4bKreplay1');
    // The edge's retry of the same hand-off, after the transaction ended.
    await h.receive(message('z9hG4bKreplay1'), CALLER, 'tcp');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(forwarded()).toHaveLength(1);
  });

  it('is taken for a new request once the finished record has expired', async () => {
    h = await Harness.start(2, {}, { finishedRecordKeepMs: 100 });
    await completeOnce('z9hG4bKreplay2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await h.receive(message('z9hG4bKreplay2'), CALLER, 'tcp');
    await expect.poll(() => forwarded().length).toBe(2);
  });

  const forks = () => h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE');
  const tryings = () => h.sent.filter((s) => s.message.status === 100);
  const tcpInvite = (name: string) =>
    sip(
      inviteLines(name)
        .map((line) => line.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'))
        .map((line) => line.replace(`${CALLEE.port} SIP/2.0`, `${CALLEE.port};transport=tcp SIP/2.0`)),
    );

  /** Hands `invite` to a worker that dies at `crashed`'s point; nothing has been forked then. */
  async function takenByADyingWorker(invite: string, transport: 'udp' | 'tcp', crashed: () => number | undefined) {
    // Over TCP the edge gets no answer to the first hand-off.
    void h.receive(invite, CALLER, transport).catch(() => undefined);
    await expect.poll(crashed).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(forks()).toHaveLength(0);
  }

  it('sends again a fork over TCP that the worker which died after committing it never sent', async () => {
    h = await Harness.start(2);
    const invite = tcpInvite('redelivered');
    await takenByADyingWorker(invite, 'tcp', h.dieAfterFirstForkCommit());
    // The edge's retry reaches the other worker.
    await h.receive(invite, CALLER, 'tcp', { receivedAt: Date.now(), redelivered: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(sent.meta.destination).toEqual(CALLEE);
    expect(sent.meta.transport).toBe('tcp');
  });

  it('sends a fork over UDP that the worker which died after committing it never sent, once the caller retransmits', async () => {
    h = await Harness.start(2);
    const invite = sip(inviteLines('resumed-udp'));
    // The worker commits the fork and dies before any send: the 100 Trying waited for the fork
    // (§17.2.1), so the caller has no provisional response and retransmits (§17.1.1.2).
    await takenByADyingWorker(invite, 'udp', h.dieAfterFirstForkCommit());
    expect(tryings()).toHaveLength(0);
    const retransmitted = Date.now();
    await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), retransmission: true });
    await h.waitFor((s) => s.message.status === 100);
    // The other worker runs the fork's retransmission timer (A) from now on: the INVITE goes out.
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 5000);
    expect(sent.meta.destination).toEqual(CALLEE);
    expect(Date.now() - retransmitted).toBeLessThan(2000);
  });

  it('routes a call whose worker died after taking it, before deciding, on the edge retry over TCP', async () => {
    // Every INVITE taken first and routed after, as one whose routing is slow (a DNS lookup).
    h = await Harness.start(2, {}, { quickDecisionMs: 0 });
    const invite = tcpInvite('undecided-tcp');
    await takenByADyingWorker(invite, 'tcp', h.dieAfterFirstUndecidedCommit());
    await h.receive(invite, CALLER, 'tcp', { receivedAt: Date.now(), redelivered: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 2000);
    expect(sent.meta.destination).toEqual(CALLEE);
    // A retry once the call is routed decides nothing again: no new fork, only the unanswered one
    // sent again (the callee's server transaction absorbs it, §17.2.1).
    await h.receive(invite, CALLER, 'tcp', { receivedAt: Date.now(), redelivered: true });
    await expect.poll(() => forks().length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(new Set(forks().map((f) => f.message.toString()))).toEqual(new Set([sent.message.toString()]));
  });

  it('routes a call whose worker died before deciding once the caller over UDP still retransmits 4·T1 later', async () => {
    const t1 = 200;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, t1 }, quickDecisionMs: 0 });
    const invite = sip(inviteLines('undecided-udp'));
    await takenByADyingWorker(invite, 'udp', h.dieAfterFirstUndecidedCommit());
    // Retransmissions at T1 and 3·T1 may cross a 100 Trying of a worker still routing: absorbed.
    for (const wait of [t1 - 50, 2 * t1]) {
      await pause(wait);
      await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), retransmission: true });
    }
    await pause(50);
    expect(forks()).toHaveLength(0);
    expect(tryings().length).toBeGreaterThan(0);
    // Still retransmitting at 5·T1: no 100 reached the caller, the taker is gone; the call is routed.
    await pause(2 * t1 - 50);
    await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), retransmission: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 2000);
    expect(sent.meta.destination).toEqual(CALLEE);
  });
});
