/**
 * Overload control in the worker (issue 16): a new initial request that waited past the limit
 * between its edge reading it and a worker taking it gets 503 with Retry-After at once, and costs
 * no call record; a retransmission the edge marks, and everything of a call already taken, is
 * never shed.
 */
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLEE, CALLER, Harness, inviteLines, sip } from './harness.js';

const OVERLOAD = { maxDelayMs: 100, retryAfterSeconds: 4 };

/** A series of the worker's /metrics (no labels). */
async function sample(h: Harness, series: string): Promise<number> {
  const text = await h.workers[0]!.metrics.registry.metrics();
  return Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(text)?.[1]);
}
const shed = (h: Harness) => sample(h, 'sipedge_worker_shed_total\\{reason="late"\\}');

describe('overload control in the worker', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('answers a new INVITE that waited twice the limit with 503 and Retry-After, and keeps no record', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    await h.receive(sip(inviteLines('late')), CALLER, 'udp', { receivedAt: Date.now() - 250 });
    const refused = await h.waitFor((s) => s.message.status === 503);
    expect(refused.message.get('Retry-After')).toBe('4');
    expect(refused.meta.destination).toEqual(CALLER);
    expect(await shed(h)).toBe(1);
    expect(await sample(h, 'sipedge_worker_active_transactions')).toBe(0);
    expect(h.sent.some((s) => s.message.isRequest)).toBe(false);
  });

  it('takes a late retransmission the edge marked, and a late in-dialog request, as usual', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    const late = { receivedAt: Date.now() - 250, retransmission: true as const };
    await h.receive(sip(inviteLines('marked')), CALLER, 'udp', late);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(buildResponse(invite, 200, { toTag: 'c1' }).toString(), CALLEE, 'udp', late);
    await h.waitFor((s) => s.message.status === 200 && s.meta.destination.address === CALLER.address);
    expect(await shed(h)).toBe(0);
  });

  it('sheds nothing when the request waited no longer than the limit', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    await h.receive(sip(inviteLines('on-time')), CALLER, 'udp', { receivedAt: Date.now() - 50 });
    await h.waitFor((s) => s.message.status === 100);
    expect(await shed(h)).toBe(0);
  });
});
