/**
 * Call affinity in distributed mode (two edges behind one address, two workers, Redis, NATS): the
 * edges hand every message of a call to one worker (a rendezvous hash of its Call-ID over the
 * workers they have heard), so that the worker's kept state of the call record stays current and
 * its commits meet no version another worker wrote (`sipedge_worker_commit_conflicts_total`),
 * while both workers take calls. With the queue group alone, about one commit in six met one
 * (docs/performance.md, "Two workers").
 */
import { WORKER_PRESENCE } from '@sipedge/handoff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distributed } from '../support/deployment.js';
import type { ManagedProcess } from '../support/processes.js';
import type { Transport } from '../support/sipp.js';
import { authEnv, call, expectAllSucceeded, registeredCallee } from './common.js';

const USERS = ['affinity-udp', 'affinity-tcp'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A counter's value in a Prometheus text exposition, summed over the series that match `labels`. */
function sampleSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('call affinity in distributed mode', () => {
  let d: Distributed;

  beforeAll(async () => {
    d = await Distributed.start({ env: authEnv(USERS) });
    // Both edges have heard both workers' first announcements well within a heartbeat.
    await sleep(WORKER_PRESENCE.heartbeatMs);
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
  });

  async function counts(worker: ManagedProcess): Promise<{ commits: number; conflicts: number }> {
    const text = await (await fetch(`${d.workerOpsUrl(worker)}/metrics`)).text();
    return {
      commits: sampleSum(text, 'sipedge_worker_redis_duration_seconds_count', 'operation="commit"'),
      conflicts: sampleSum(text, 'sipedge_worker_commit_conflicts_total'),
    };
  }

  for (const transport of ['udp', 'tcp'] as Transport[]) {
    it(`${transport}: both workers take calls, and every message of a call reaches the one that holds it`, async () => {
      const before = await Promise.all(d.workers.map(counts));
      const calls = 120;
      const user = `affinity-${transport}`;
      const callee = await registeredCallee({
        target: d.target,
        scenario: 'uas-answer',
        user,
        transport,
        calls,
        pauseMs: 500,
        timeoutS: 60,
      });
      const caller = call(d.target, transport, user, { calls, rate: 30, pauseMs: 500, timeoutS: 60 });
      expectAllSucceeded(`affinity ${transport}`, [await caller, await callee.done]);
      const after = await Promise.all(d.workers.map(counts));
      const commits = after.map((a, i) => a.commits - before[i]!.commits);
      const conflicts = after.reduce((sum, a, i) => sum + a.conflicts - before[i]!.conflicts, 0);
      process.stdout.write(`affinity ${transport}: commits per worker ${commits.join(', ')}; conflicts ${conflicts}\n`);
      // Each call commits about six times (INVITE, 180, 200, ACK, BYE, its 200).
      for (const made of commits) expect(made).toBeGreaterThan(calls);
      expect(conflicts).toBeLessThanOrEqual(Math.floor((commits[0]! + commits[1]!) / 100));
    }, 120_000);
  }
});
