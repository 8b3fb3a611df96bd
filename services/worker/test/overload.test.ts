/**
 * Overload control in the worker (issue 16): while messages wait for a place in the admission
 * queue, or the hand-offs' wait stands above the limit over a window (the worker is saturated), a new call that waited past the limit gets 503 with Retry-After
 * at once and costs no call record; with nothing waiting (a pause, a burst the worker takes at
 * once) nothing is refused, and a retransmission the edge marks, or anything of a call already
 * taken, never is.
 */
import { SUBJECTS, WORKER_LOAD, decodeWorkerLoad } from '@sipedge/handoff';
import { buildResponse } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLEE, CALLER, Harness, inviteLines, sip } from './harness.js';

const logger = createLogger({ name: 'overload-test', level: 'silent' });
const OVERLOAD = { maxDelayMs: 100, retryAfterSeconds: 4 };

/** A series of the worker's /metrics. */
async function sample(h: Harness, series: string): Promise<number> {
  const text = await h.workers[0]!.metrics.registry.metrics();
  return Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(text)?.[1]);
}
const shed = (h: Harness) => sample(h, 'sipedge_worker_shed_total\\{reason="late"\\}');

/** `count` new calls at once, each INVITE having waited `waitMs` before the worker. */
async function calls(h: Harness, prefix: string, count: number, waitMs: number, retransmission = false): Promise<void> {
  const edge = { receivedAt: Date.now() - waitMs, ...(retransmission ? { retransmission: true as const } : {}) };
  await Promise.all(
    Array.from({ length: count }, (_, i) => h.receive(sip(inviteLines(`${prefix}-${i}`)), CALLER, 'udp', edge)),
  );
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 600));

/** A call handed off at once: the worker learns that this edge's clock agrees with its own (ClockOffsets). */
async function calm(h: Harness): Promise<void> {
  await calls(h, 'calm', 1, 0);
  await settle();
}

/** Hand-offs of new calls every 50 ms for `count` times, each `waitMs` late. */
async function stream(h: Harness, prefix: string, count: number, waitMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await calls(h, `${prefix}-${i}`, 1, waitMs);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('overload control in the worker', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('answers late new calls with 503 and Retry-After while messages wait for a place, keeping no record', async () => {
    // Arming each call's deadline takes 50 ms: the first call holds the one place meanwhile.
    h = await Harness.start(1, {}, { overload: OVERLOAD, concurrency: 1 }, 50);
    await calm(h);
    await calls(h, 'late', 5, 250);
    await settle();
    const refused = h.sent.filter((s) => s.message.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.message.get('Retry-After')).toBe('4');
      expect(r.meta.destination).toEqual(CALLER);
      expect(h.sent.some((s) => s.message.isRequest && s.message.callId === r.message.callId)).toBe(false);
    }
    expect(await shed(h)).toBe(refused.length);
    // The calls taken opened records; the refused ones did not.
    expect(await sample(h, 'sipedge_worker_active_transactions')).toBe(1 + 5 - refused.length);
  });

  it('counts each hand-off as it leaves the admission queue, not as it arrives (what a worker thread’s edge reads)', async () => {
    // Arming each call's deadline takes 200 ms: one place, so the calls are taken one by one.
    h = await Harness.start(1, {}, { concurrency: 1 }, 200);
    await calls(h, 'counted', 5, 0);
    await expect.poll(() => h.taken[0] ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(h.taken[0]).toBeLessThan(5);
    await expect.poll(() => h.taken[0], { timeout: 10_000 }).toBe(5);
    await settle();
    expect(h.taken[0]).toBe(5);
  });

  it('refuses nothing late when nothing waits for a place (a pause, a burst taken at once)', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    await calls(h, 'paused', 5, 250);
    await settle();
    expect(h.sent.filter((s) => s.message.status === 100)).toHaveLength(5);
    expect(await shed(h)).toBe(0);
  });

  it('refuses late new calls while even the quickest hand-off of a window waited past the limit (a backlog before the worker)', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    await calm(h);
    // A steady stream, every message 250 ms late, for longer than two windows: a standing backlog.
    await stream(h, 'backlog', 24, 250);
    await calls(h, 'after', 5, 250);
    await settle();
    const refusedAfter = h.sent.filter((s) => s.message.status === 503 && s.message.callId.startsWith('after'));
    expect(refusedAfter).toHaveLength(5);
    expect(h.sent.some((s) => s.message.isRequest && s.message.callId.startsWith('after'))).toBe(false);
    expect(await shed(h)).toBeGreaterThanOrEqual(5);
  });

  it('reports its backlog to the edges while it is saturated, and 0 once it is over', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    const reports: number[] = [];
    await h.hub
      .connect({ logger })
      .subscribe(SUBJECTS.workersLoad, (m) => void reports.push(decodeWorkerLoad(m.data)!.backlogMs));
    await calm(h);
    await stream(h, 'reported', 24, 250);
    await expect.poll(() => reports.some((backlog) => backlog >= 200), { timeout: 2000 }).toBe(true);
    // No hand-off for two windows: the standing wait is gone, and so is the backlog.
    await expect.poll(() => reports.at(-1), { timeout: 3000 }).toBe(0);
    const count = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 3 * WORKER_LOAD.reportMs));
    expect(reports).toHaveLength(count);
  });

  it('reports nothing with overload control off, however late its hand-offs', async () => {
    h = await Harness.start(1, {}, { concurrency: 1 }, 50);
    const reports: number[] = [];
    await h.hub
      .connect({ logger })
      .subscribe(SUBJECTS.workersLoad, (m) => void reports.push(decodeWorkerLoad(m.data)!.backlogMs));
    await calls(h, 'unreported', 5, 250);
    await settle();
    expect(reports).toEqual([]);
  });

  it('takes a clock that differs from the edge’s for no wait: an edge 300 ms behind refuses nothing', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD });
    await stream(h, 'skewed', 14, 300);
    await calls(h, 'skewed-after', 5, 300);
    await settle();
    expect(h.sent.filter((s) => s.message.status === 503)).toHaveLength(0);
    expect(await shed(h)).toBe(0);
    // A queue that then builds above the difference still shows.
    await stream(h, 'queued', 24, 300 + 250);
    await calls(h, 'queued-after', 5, 300 + 250);
    await settle();
    expect(h.sent.filter((s) => s.message.status === 503 && s.message.callId.startsWith('queued-after'))).toHaveLength(
      5,
    );
  });

  it('takes late retransmissions the edge marked, and the responses of a call, while saturated', async () => {
    h = await Harness.start(1, {}, { overload: OVERLOAD, concurrency: 1 }, 50);
    await calls(h, 'marked', 5, 250, true);
    await settle();
    expect(h.sent.filter((s) => s.message.status === 100)).toHaveLength(5);
    const invite = h.sent.find((s) => s.message.isRequest && s.message.method === 'INVITE')!.message;
    await h.receive(buildResponse(invite, 200, { toTag: 'c1' }).toString(), CALLEE, 'udp', {
      receivedAt: Date.now() - 250,
    });
    await h.waitFor((s) => s.message.status === 200 && s.message.callId === invite.callId);
    expect(await shed(h)).toBe(0);
  });
});
