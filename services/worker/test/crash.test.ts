/**
 * A worker that dies right after committing a call (issue 16): the record and its durable deadline
 * are committed together — the deadline armed before the commit — so the call's Timer B fires on
 * another worker and the caller hears 408 on time, though the forked INVITE never left the dead
 * one (the survivor may resume its retransmissions when an earlier deadline fires first). Here the
 * caller never retransmits; one that does resumes the call sooner (handoff-replay.test.ts).
 */
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLER, Harness, inviteLines, sip } from './harness.js';

const T1 = 50;

describe('a worker killed between its commit and its effects', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('leaves a deadline another worker fires: the caller gets 408 at Timer B', async () => {
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, t1: T1 } });
    // The commit that creates the fork: this worker "dies" there, before sending it.
    const crashedWorker = h.dieAfterFirstForkCommit();
    const sentAt = Date.now();
    await h.receive(sip(inviteLines('crash-after-commit')), CALLER);
    const timeout = await h.waitFor((s) => s.message.status === 408, 64 * T1 + 3000);
    const crashed = crashedWorker();
    expect(crashed).toBeDefined();
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(64 * T1);
    expect(timeout.meta.destination).toEqual(CALLER);
    // The dead worker's 100 Trying waited for the fork, so it never left (§17.2.1).
    expect(h.sent.filter((s) => s.message.status === 100)).toHaveLength(0);
    const survivor = await h.workers[1 - crashed!]!.metrics.registry.metrics();
    expect(survivor).toMatch(/^sipedge_worker_timer_lateness_seconds_count\{timer="deadline"\} [1-9]\d*$/m);
  });
});
