/**
 * How a proxied INVITE ends: a 2xx is forwarded whenever it comes (§16.7 step 5), also after the
 * fork's client transaction ended (Timer C ran out twice: CANCEL, then 408 upstream) — so the
 * caller can ACK it and the callee stops retransmitting; and an INVITE's Expires, when it runs out
 * unanswered, CANCELs its branches.
 */
import { buildResponse, type SipMessage } from '@sipedge/sip';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { registered, request } from './support/requests.js';

const CALLER = { address: '192.0.2.1', port: 5060 };
const CALLEE = { address: '192.0.2.20', port: 5070 };

describe('a 2xx after the fork’s transaction ended (§16.7 step 5)', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('reaches the caller after Timer C gave up on the fork', async () => {
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, t1: 50, timerC: 300 } });
    await registered(h, { contact: CALLEE, callId: 'late-reg', tag: 'r' });
    const invite = request({
      method: 'INVITE',
      uri: 'sip:bob@example.com',
      callId: 'late-2xx',
      via: CALLER,
      branch: 'late-inv',
      contact: `<sip:alice@${CALLER.address}:${CALLER.port}>`,
    });
    await h.receive(invite, CALLER);
    const fork = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(buildResponse(fork, 180, { toTag: 'b1' }).toString(), CALLEE);
    // Timer C: a CANCEL; the callee does not answer it; Timer C again: 408 upstream.
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL', 5000);
    await h.waitFor((s) => s.message.status === 408 && s.meta.destination.address === CALLER.address, 20_000);
    const ok = buildResponse(fork, 200, { toTag: 'b1', headers: [['Contact', `<sip:bob@${CALLEE.address}>`]] });
    await h.receive(ok.toString(), CALLEE);
    const forwarded = await h.waitFor(
      (s) =>
        s.message.status === 200 && s.message.cseq.method === 'INVITE' && s.meta.destination.address === CALLER.address,
    );
    expect((forwarded.message as SipMessage).topVia?.branch).toBe('z9hG4bKlate-inv');
    // The caller ACKs it through our Record-Routes (its route set: them reversed, §12.1.2).
    const routes = [...forwarded.message.values('record-route')].reverse();
    const ack = request({
      method: 'ACK',
      uri: `sip:bob@${CALLEE.address}`,
      callId: 'late-2xx',
      via: CALLER,
      branch: 'late-ack',
      route: routes,
      to: '<sip:bob@example.com>;tag=b1',
    });
    await h.receive(ack, CALLER);
    await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'ACK' && s.meta.destination.address === CALLEE.address,
    );
  }, 30_000);
});

describe('an INVITE’s Expires (§20.19)', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('CANCELs the branches when it runs out unanswered; the 487 reaches the caller', async () => {
    h = await Harness.start(1);
    const invite = request({
      method: 'INVITE',
      uri: 'sip:carol@192.0.2.30:5070',
      callId: 'expires-1',
      via: CALLER,
      branch: 'expires',
      to: '<sip:carol@192.0.2.30>',
      extra: ['Expires: 1'],
    });
    await h.receive(invite, CALLER);
    const fork = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    const forked = Date.now();
    await h.receive(buildResponse(fork, 180, { toTag: 'c1' }).toString(), { address: '192.0.2.30', port: 5070 });
    const cancel = await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL', 5000);
    expect(Date.now() - forked).toBeGreaterThanOrEqual(900);
    expect(cancel.message.topVia?.branch).toBe(fork.topVia?.branch);
    await h.receive(buildResponse(fork, 487, { toTag: 'c1' }).toString(), { address: '192.0.2.30', port: 5070 });
    await h.waitFor((s) => s.message.status === 487 && s.meta.destination.address === CALLER.address);
  }, 10_000);
});
