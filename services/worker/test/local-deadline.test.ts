/**
 * Who fires a call record's deadline: the worker that committed it, on a local timer at its due
 * time; the deadline's job, which any worker may take, runs `deadlineTakeoverMs` later and fires it
 * only when that worker is gone. An INVITE's Expires (§20.19) is the deadline here: when it runs
 * out on a ringing call, the fork is CANCELled.
 */
import { buildResponse, type SipMessage } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, deadlineFires } from './harness.js';
import { request } from './support/requests.js';

const CALLER = { address: '192.0.2.1', port: 5060 };
const CALLEE = { address: '192.0.2.30', port: 5070 };
const EXPIRES_MS = 1000;
/** Far longer than a local timer's lateness here: a CANCEL before it is the local timer's. */
const TAKEOVER_MS = 3000;

/** A ringing call whose INVITE expires in 1 s; resolves when the 180 reached the caller. */
async function ringingCall(h: Harness, callId: string): Promise<{ fork: SipMessage; sentAt: number }> {
  const sentAt = Date.now();
  await h.receive(
    request({
      method: 'INVITE',
      uri: `sip:carol@${CALLEE.address}:${CALLEE.port}`,
      callId,
      via: CALLER,
      branch: callId,
      to: `<sip:carol@${CALLEE.address}>`,
      extra: [`Expires: ${EXPIRES_MS / 1000}`],
    }),
    CALLER,
  );
  const fork = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
  await h.receive(buildResponse(fork, 180, { toTag: 'c1' }).toString(), CALLEE);
  await h.waitFor((s) => s.message.status === 180 && s.meta.destination.address === CALLER.address);
  return { fork, sentAt };
}

describe('the deadline of a call record', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('fires on the committing worker’s local timer at its due time, and its job is removed', async () => {
    h = await Harness.start(1, {}, { deadlineTakeoverMs: TAKEOVER_MS });
    const { fork, sentAt } = await ringingCall(h, 'local-fire');
    const cancel = await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL', 5000);
    const firedAfter = Date.now() - sentAt;
    expect(cancel.message.topVia?.branch).toBe(fork.topVia?.branch);
    expect(firedAfter).toBeGreaterThanOrEqual(EXPIRES_MS - 50);
    expect(firedAfter).toBeLessThan(EXPIRES_MS + TAKEOVER_MS / 2);
    expect(await deadlineFires(h)).toEqual([1]);
    // The spent deadline's job is gone; the one left is the next deadline (the CANCEL's Timer F,
    // the fork's Timer C): a single job, not due within the takeover delay of the old one.
    expect(h.timerHub.size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, TAKEOVER_MS + 200));
    expect(await deadlineFires(h)).toEqual([1]);
  }, 15_000);

  it('fires on another worker, through its job, when the committing workers are gone', async () => {
    const takeoverMs = 500;
    h = await Harness.start(3, {}, { deadlineTakeoverMs: takeoverMs });
    const committedBy = new Set<number>();
    h.afterCommit = async (index) => {
      committedBy.add(index);
    };
    const { fork, sentAt } = await ringingCall(h, 'takeover');
    // Every worker that committed the record holds a local timer for it: they stop (as a rollout
    // stops them), and only the job is left to fire the deadline.
    const stopped = [...committedBy];
    expect(stopped.length).toBeLessThan(3);
    await Promise.all(stopped.map((index) => h.workers[index]!.stop()));
    const cancel = await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL', 5000);
    const firedAfter = Date.now() - sentAt;
    expect(cancel.message.topVia?.branch).toBe(fork.topVia?.branch);
    expect(firedAfter).toBeGreaterThanOrEqual(EXPIRES_MS + takeoverMs - 50);
    expect(firedAfter).toBeLessThan(EXPIRES_MS + takeoverMs + 2000);
    const fires = await deadlineFires(h);
    expect(stopped.map((index) => fires[index])).toEqual(stopped.map(() => 0));
    expect(fires.reduce((a, b) => a + b, 0)).toBe(1);
  }, 15_000);
});
