/**
 * The worker's ops server: after a transaction (a REGISTER over UDP, its Timer J shortened), the
 * worker's /metrics serves the five worker series under their Prometheus names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { startWorkerOpsServer, type WorkerOpsServer } from '../src/index.js';
import { Harness, logger, sip } from './harness.js';

const UAS = { address: '192.0.2.20', port: 5070 };

const REGISTER = sip([
  'REGISTER sip:example.com SIP/2.0',
  `Via: SIP/2.0/UDP ${UAS.address}:${UAS.port};branch=z9hG4bKmetrics1`,
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: <sip:bob@example.com>;tag=r1',
  'Call-ID: metrics-1',
  'CSeq: 1 REGISTER',
  `Contact: <sip:bob@${UAS.address}:${UAS.port}>`,
  'Expires: 3600',
]);

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('worker /metrics', () => {
  let h: Harness | undefined;
  let ops: WorkerOpsServer | undefined;
  afterEach(async () => {
    await ops?.close();
    await h?.stop();
  });

  it('serves the worker series after a transaction, and /healthz', async () => {
    h = await Harness.start(1, {}, { timers: { ...DEFAULT_TIMERS, t1: 5 } });
    const worker = h.workers[0]!;
    ops = await startWorkerOpsServer({
      endpoint: { address: '127.0.0.1', port: 0 },
      metrics: worker.metrics.registry,
      logger,
    });
    const base = `http://127.0.0.1:${ops.address.port}`;

    await h.receive(REGISTER, UAS);
    await h.waitFor((s) => s.message.status === 200);

    // The 200 settles the call record (only Timer J's absorbing is left): then the duration is recorded.
    let text = '';
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      text = await res.text();
      if ((sample(text, 'sipedge_worker_transaction_duration_seconds_count') ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(text, 'sipedge_worker_transaction_duration_seconds_count')).toBe(1);
    expect(sample(text, 'sipedge_worker_active_transactions')).toBe(0);
    expect(text).toContain('# TYPE sipedge_worker_timer_lateness_seconds histogram');
    expect(sample(text, 'sipedge_worker_handoff_latency_seconds_count')).toBe(1);
    expect(sample(text, 'sipedge_worker_redis_duration_seconds_count{operation="load"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'sipedge_worker_redis_duration_seconds_count{operation="commit"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE sipedge_worker_transaction_duration_seconds histogram');

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
