/**
 * An INVITE whose routing decision comes at once (an address, a registered user) is created with
 * its forks in one commit; one whose routing is slow (DNS, a loaded location service) is taken
 * first — its 100 Trying sent within 50 ms and its retransmissions absorbed (RFC 3261 §17.2.1) —
 * and its decision committed after.
 */
import type { NextHop } from '@sipedge/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import type { Committed } from '../src/call-store.js';
import { CALLEE, CALLER, Harness, inviteLines, resolveIpLiteral, sip } from './harness.js';

const ROUTING_MS = 150;

describe('routing an INVITE', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  /** Every commit the harness's workers make from now on, in order. */
  function commitsOf(harness: Harness): Committed[] {
    const commits: Committed[] = [];
    harness.afterCommit = async (_, committed) => void commits.push(committed);
    return commits;
  }

  it('creates the call with its fork in one commit when the decision comes at once', async () => {
    h = await Harness.start(1);
    const commits = commitsOf(h);
    await h.receive(sip(inviteLines('quick')), CALLER);
    const fork = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(fork.meta.destination).toEqual(CALLEE);
    await h.waitFor((s) => s.message.status === 100);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.before).toBeNull();
    expect(commits[0]!.result.record.forks).toHaveLength(1);
    expect(commits[0]!.result.record.decisionDue).toBeUndefined();
  });

  it('takes the call first and answers 100 Trying when the decision is slow, then commits the decision', async () => {
    const slowResolve = async (hop: NextHop) => {
      await new Promise((resolve) => setTimeout(resolve, ROUTING_MS));
      return resolveIpLiteral(hop);
    };
    h = await Harness.start(1, { resolve: slowResolve });
    const commits = commitsOf(h);
    const sentAt = Date.now();
    await h.receive(sip(inviteLines('slow')), CALLER);
    await h.waitFor((s) => s.message.status === 100);
    const tryingAfter = Date.now() - sentAt;
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(tryingAfter).toBeLessThan(ROUTING_MS);
    expect(h.sent.findIndex((s) => s.message.status === 100)).toBeLessThan(
      h.sent.findIndex((s) => s.message.isRequest && s.message.method === 'INVITE'),
    );
    expect(commits.map((c) => [c.before === null, c.result.record.forks.length])).toEqual([
      [true, 0],
      [false, 1],
    ]);
    expect(commits[0]!.result.record.decisionDue).toBeDefined();
    expect(commits[1]!.result.record.decisionDue).toBeUndefined();
  });
});
