import { createLogger } from '@sipedge/telemetry';
import { Registry, Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventLoopLagMonitor,
  startOpsServer,
  type OpsServer,
  type ReadinessBody,
  type ReadinessReport,
} from '../src/http.js';
import { EdgeMetrics } from '../src/metrics.js';

const quiet = () => createLogger({ name: 'edge-http-test', level: process.env.LOG_LEVEL ?? 'silent' });
const ALL_GOOD: ReadinessReport = { sockets: true, nats: true, redis: true, draining: false };

/** The checks of a /readyz body: the sockets, NATS and Redis ones all `ok` or all not, then the others. */
const checks = (ok: boolean, eventLoopLagMs: object, draining: object) => ({
  sockets: { ok },
  nats: { ok },
  redis: { ok },
  eventLoopLagMs,
  draining,
});

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<Parameters<typeof startOpsServer>[0]> = {}): Promise<string> {
  server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    readiness: () => ALL_GOOD,
    metrics: new Registry(),
    logger: quiet(),
    eventLoopLagMs: () => 1,
    ...options,
  });
  return `http://${server.address.address}:${server.address.port}`;
}

describe('startOpsServer', () => {
  it('binds to the given host and reports the actual port', async () => {
    await start();
    expect(server?.address.address).toBe('127.0.0.1');
    expect(server?.address.port).toBeGreaterThan(0);
  });

  it('answers /healthz with 200 ok', async () => {
    const base = await start({ readiness: () => ({ ...ALL_GOOD, redis: false }) });
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
  });

  it('answers /readyz with 200 and every check when all pass', async () => {
    const base = await start({ readiness: async () => ALL_GOOD, maxEventLoopLagMs: 100 });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      ready: true,
      checks: checks(true, { ok: true, value: 1, bound: 100 }, { ok: true, value: false }),
    });
  });

  it.each([
    ['sockets', { sockets: false }],
    ['nats', { nats: false }],
    ['redis', { redis: false }],
    ['draining', { draining: true }],
  ] as const)('answers /readyz with 503 when %s fails', async (check, override) => {
    const base = await start({ readiness: () => ({ ...ALL_GOOD, ...override }) });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadinessBody;
    expect(body.ready).toBe(false);
    for (const [name, result] of Object.entries(body.checks)) {
      expect(result.ok).toBe(name !== check);
    }
  });

  it('answers /readyz with 503 when event-loop lag exceeds its bound', async () => {
    const base = await start({ eventLoopLagMs: () => 300 });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadinessBody;
    expect(body.checks.eventLoopLagMs).toEqual({ ok: false, value: 300, bound: 250 });
    expect(body.checks.redis).toEqual({ ok: true });
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('redis client gone');
      },
    ],
    ['rejects', () => Promise.reject(new Error('redis client gone'))],
  ])('answers /readyz with 503 when readiness %s', async (_, readiness) => {
    const base = await start({ readiness });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ready: false,
      checks: checks(false, { ok: true, value: 1, bound: 250 }, { ok: false, value: null }),
      error: 'readiness check failed: redis client gone',
    });
  });

  it('answers /readyz with 503 within the timeout when readiness hangs', async () => {
    const base = await start({ readiness: () => new Promise<ReadinessReport>(() => {}), readinessTimeoutMs: 100 });
    const started = performance.now();
    const response = await fetch(`${base}/readyz`);
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadinessBody;
    expect(body.ready).toBe(false);
    expect(body.error).toBe('readiness timed out after 100 ms');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1000);
  });

  it('ignores a readiness answer that arrives after the timeout', async () => {
    const base = await start({
      readiness: () => new Promise<ReadinessReport>((_, reject) => setTimeout(() => reject(new Error('late')), 80)),
      readinessTimeoutMs: 20,
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the late rejection must not be unhandled
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.dropped('denied');
    const base = await start({ metrics: metrics.registry });
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('# HELP sipedge_edge_messages_dropped_total');
    expect(text).toContain('sipedge_edge_messages_dropped_total{reason="denied"} 1');
  });

  it('answers 500 when collecting metrics fails', async () => {
    const registry = new Registry();
    new Counter({
      name: 'broken_total',
      help: 'fails on collect',
      registers: [registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    const base = await start({ metrics: registry });
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(500);
  });

  it('answers 404 for anything else, 405 for another method on a known path', async () => {
    const base = await start();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz/extra`)).status).toBe(404);
    expect((await fetch(`${base}/constructor`)).status).toBe(404);
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`, { method: 'HEAD' })).status).toBe(200);
  });

  it('closes with keep-alive connections open, and stops listening', async () => {
    const base = await start();
    await fetch(`${base}/healthz`, { headers: { connection: 'keep-alive' } });
    await server?.close();
    const closed = server;
    server = undefined;
    await closed?.close(); // idempotent
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('fails to start when the port is taken', async () => {
    await start();
    const taken = server?.address.port ?? 0;
    await expect(
      startOpsServer({
        host: '127.0.0.1',
        port: taken,
        readiness: () => ALL_GOOD,
        metrics: new Registry(),
        logger: quiet(),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it('measures real event-loop lag by default', async () => {
    const base = await start({ eventLoopLagMs: undefined });
    const body = (await (await fetch(`${base}/readyz`)).json()) as ReadinessBody;
    expect(body.checks.eventLoopLagMs.ok).toBe(true);
    expect(body.checks.eventLoopLagMs.bound).toBe(250);
    expect(body.checks.eventLoopLagMs.value).toBeLessThan(250);
  });
});

describe('EventLoopLagMonitor', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('reports a blocked loop in the closed window, and forgets it a window later', async () => {
    const monitor = new EventLoopLagMonitor(60_000);
    try {
      await sleep(30);
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // block the event loop
      }
      await sleep(30);
      expect(monitor.lagMs()).toBeGreaterThan(200); // the current window, before any closed
      monitor.rotate();
      expect(monitor.lagMs()).toBeGreaterThan(200);
      await sleep(50);
      monitor.rotate();
      expect(monitor.lagMs()).toBeLessThan(100);
    } finally {
      monitor.stop();
    }
  });
});
