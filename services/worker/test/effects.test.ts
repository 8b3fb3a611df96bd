/**
 * The effects of a committed event stand alone (issue 16): a NATS blip that loses one message
 * does not lose the rest of the event's work. The 100 Trying that fails to publish is counted and
 * logged, and the fork's INVITE and its timers still happen, so the call completes; a fork's
 * INVITE that fails to publish is that fork's transport error, so the caller hears its answer at
 * once (a 503 from that branch, sent upstream as 500, §16.7 step 6) instead of waiting for Timer B.
 */
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLEE, CALLER, Harness, inviteLines, sip } from './harness.js';

const invite = (callId: string) => sip(inviteLines(callId));

async function failures(h: Harness, effect: string): Promise<number> {
  const text = await h.workers[0]!.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`sipedge_worker_effect_failures_total{effect="${effect}"}`));
  return Number(line?.split(' ').pop());
}

describe('effects after a commit', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('a 100 Trying lost to a NATS blip: the INVITE is still forwarded and the call completes', async () => {
    h = await Harness.start(1);
    h.failNextPublish = (line) => line.startsWith('SIP/2.0 100');
    await h.receive(invite('blip-100'), CALLER);
    const fork = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(h.sent.some((s) => s.message.status === 100)).toBe(false);
    expect(await failures(h, 'send')).toBe(1);
    await h.receive(buildResponse(fork.message, 200, { toTag: 'c1' }).toString(), CALLEE);
    const ok = await h.waitFor((s) => s.message.status === 200 && s.meta.destination.address === CALLER.address);
    expect(ok.message.callId).toBe('blip-100');
  });

  it('a fork’s INVITE lost to a NATS blip is its transport error: 500 upstream at once (§16.7 step 6)', async () => {
    h = await Harness.start(1);
    h.failNextPublish = (line) => line.startsWith('INVITE ');
    await h.receive(invite('blip-fork'), CALLER);
    const answer = await h.waitFor(
      (s) => s.message.status >= 300 && s.meta.destination.address === CALLER.address,
      2000,
    );
    expect(answer.message.status).toBe(500);
    expect(await failures(h, 'send')).toBe(1);
  });
});
