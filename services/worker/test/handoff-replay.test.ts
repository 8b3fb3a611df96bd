/**
 * A hand-off the edge retries after the message's transaction has ended. Over TCP the edge sends a
 * message to a worker as a NATS request and sends it again when no answer comes in time; a worker
 * that dies after sending the message on, but before answering, leaves the edge retrying while the
 * callee may already have answered and the transaction ended (Timers J and K are 0 over TCP,
 * RFC 3261 §17.2.2, §17.1.2.2). The finished record is kept for the edges' replay window
 * (`finishedRecordKeepMs`), so the retry is absorbed: the callee gets the request once. And a
 * worker that died between its commit and its sends leaves a fork nobody sent: the retry (marked
 * `redelivered`) sends it again.
 */
import { buildResponse } from '@sipedge/sip';
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

  it('sends again a fork over TCP that the worker which died after committing it never sent', async () => {
    h = await Harness.start(2);
    const crashed = h.dieAfterFirstForkCommit();
    const invite = sip(
      inviteLines('redelivered')
        .map((line) => line.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'))
        .map((line) => line.replace(`${CALLEE.port} SIP/2.0`, `${CALLEE.port};transport=tcp SIP/2.0`)),
    );
    // The first hand-off: the worker commits the fork and dies; the edge gets no answer.
    void h.receive(invite, CALLER, 'tcp').catch(() => undefined);
    await expect.poll(crashed).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE')).toHaveLength(0);
    // The edge's retry reaches the other worker.
    await h.receive(invite, CALLER, 'tcp', { receivedAt: Date.now(), redelivered: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(sent.meta.destination).toEqual(CALLEE);
    expect(sent.meta.transport).toBe('tcp');
  });

  it('sends a fork over UDP that the worker which died after committing it never sent, once the edge retries', async () => {
    h = await Harness.start(2);
    const crashed = h.dieAfterFirstForkCommit();
    const invite = sip(inviteLines('redelivered-udp'));
    // The first hand-off: the worker answers 100 Trying, commits the fork and dies; the caller,
    // which has its 100, retransmits no more (§17.1.1.2), and the edge gets no confirmation.
    void h.receive(invite, CALLER, 'udp').catch(() => undefined);
    await expect.poll(crashed).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const forked = () => h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(forked()).toHaveLength(0);
    // The edge's retry (a new INVITE over UDP is an acknowledged hand-off) reaches the other
    // worker, whose retransmission timer sends the fork well before Timer B.
    const retried = Date.now();
    await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), redelivered: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 5000);
    expect(sent.meta.destination).toEqual(CALLEE);
    expect(Date.now() - retried).toBeLessThan(2000);
  });

  it('routes a call whose worker died after taking it, before deciding where it goes, once the edge retries', async () => {
    h = await Harness.start(2);
    const crashed = h.dieAfterFirstUndecidedCommit();
    const invite = sip(inviteLines('undecided'));
    void h.receive(invite, CALLER, 'udp').catch(() => undefined);
    await expect.poll(crashed).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE')).toHaveLength(0);
    const retried = Date.now();
    await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), redelivered: true });
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 5000);
    expect(sent.meta.destination).toEqual(CALLEE);
    expect(Date.now() - retried).toBeLessThan(1000);
    // A retry once the call is routed decides nothing again: the callee gets one INVITE.
    await h.receive(invite, CALLER, 'udp', { receivedAt: Date.now(), redelivered: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE')).toHaveLength(1);
  });
});
