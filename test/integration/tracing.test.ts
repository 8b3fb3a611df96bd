/**
 * OpenTelemetry across nodes: calls placed through a distributed deployment (two edge processes
 * behind one address, two worker processes, Redis, NATS) whose processes export traces and
 * metrics over OTLP/HTTP (JSON) to a receiver run by this test.
 *
 * What is guaranteed, and asserted, for each call's INVITE: one trace holding the edge's
 * `sip.receive` (the root) → a worker's `sip.server_transaction` → `sip.client_transaction` → an
 * edge's `sip.send`; the callee's responses and the server transaction's last timer (Timer L, 64·T1
 * after the 200), handled later by whichever worker NATS or BullMQ picks, join that trace through
 * the traceparent stored in the call record; every span but the root has its parent in the trace;
 * and the spans come from at least two processes (an edge and a worker). Which edge and which worker
 * take each message is up to the kernel and to NATS, so spans from both workers are asserted only
 * over all the calls together (each of the dozens of worker events picks one of two workers), and
 * the edges that took part are reported, not asserted.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, call, expectAllSucceeded, registeredCallee } from '../e2e/common.js';
import { Distributed } from '../support/deployment.js';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  pid: string;
  attributes: Record<string, string>;
}

type OtlpAttribute = { key: string; value: Record<string, unknown> };

/** The attributes of an OTLP/JSON span or resource, as strings. */
function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of list ?? []) out[key] = String(Object.values(value)[0]);
  return out;
}

/** A minimal OTLP/HTTP receiver: keeps the spans of POST /v1/traces and the metric names of /v1/metrics. */
class OtlpReceiver {
  readonly spans: Span[] = [];
  readonly metricNames = new Set<string>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      void receiver.take(req).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
        () => res.writeHead(400).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async take(req: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown[]>;
    if (req.url === '/v1/traces') {
      for (const rs of body.resourceSpans as {
        resource: { attributes: OtlpAttribute[] };
        scopeSpans: { spans: (Omit<Span, 'attributes' | 'service' | 'pid'> & { attributes: OtlpAttribute[] })[] }[];
      }[]) {
        const resource = attributesOf(rs.resource.attributes);
        for (const span of rs.scopeSpans.flatMap((s) => s.spans)) {
          this.spans.push({
            ...span,
            parentSpanId: span.parentSpanId ?? '',
            service: resource['service.name']!,
            pid: resource['process.pid']!,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    } else if (req.url === '/v1/metrics') {
      for (const rm of body.resourceMetrics as { scopeMetrics: { metrics: { name: string }[] }[] }[]) {
        for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) this.metricNames.add(m.name);
      }
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const CALLS = 4;
/**
 * sipedge's default T1: Timer L (64·T1) comes 32 s after each 200. A shorter T1 would end the test
 * sooner, but the proxy's retransmissions then outpace a SIPp callee on a loaded machine.
 */
const T1_MS = 500;

/** The trace of each INVITE's server transaction, by trace id. */
function inviteTraces(spans: Span[]): Map<string, Span[]> {
  const ids = new Set(
    spans
      .filter((s) => s.name === 'sip.server_transaction' && s.attributes['sip.method'] === 'INVITE')
      .map((s) => s.traceId),
  );
  return new Map([...ids].map((id) => [id, spans.filter((s) => s.traceId === id)]));
}

/** Complete: every parent present and Timer L fired (the record's last event). */
function complete(trace: Span[]): boolean {
  const ids = new Set(trace.map((s) => s.spanId));
  return (
    trace.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId)) &&
    trace.some((s) => s.name === 'sip.timer' && s.attributes['sip.timer'] === 's.L')
  );
}

describe('OpenTelemetry traces across edges and workers', () => {
  let receiver: OtlpReceiver;
  let deployment: Distributed;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    deployment = await Distributed.start({
      env: {
        ...authEnv(['traced']),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_LOGS_EXPORTER: 'none',
      },
    });
  }, 180_000);

  afterAll(async () => {
    await deployment?.stop();
    await receiver?.stop();
  });

  it('each INVITE is one trace from the edge through both workers, timers included', async () => {
    const callee = await registeredCallee({
      target: deployment.target,
      scenario: 'uas-answer',
      user: 'traced',
      transport: 'udp',
      calls: CALLS,
      pauseMs: 100,
      timeoutS: 60,
    });
    const caller = await call(deployment.target, 'udp', 'traced', { calls: CALLS, rate: 2, pauseMs: 200 });
    expectAllSucceeded('traced calls', [caller, await callee.done]);

    // Timer L fires 64·T1 after each 200; the processes export every 100 ms.
    const deadline = Date.now() + 64 * T1_MS + 20_000;
    let traces = inviteTraces(receiver.spans);
    while (Date.now() < deadline && (traces.size < CALLS || ![...traces.values()].every(complete))) {
      await new Promise((r) => setTimeout(r, 250));
      traces = inviteTraces(receiver.spans);
    }
    expect(traces.size).toBe(CALLS);

    for (const [traceId, trace] of traces) {
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      const parentOf = (s: Span) => byId.get(s.parentSpanId);
      const roots = trace.filter((s) => s.parentSpanId === '');
      const described = trace.map((s) => `${s.service}/${s.pid} ${s.name} ${s.spanId}←${s.parentSpanId}`).join('\n');

      // One root, the edge's receive of the INVITE; every other span's parent is in the trace.
      expect(roots, described).toHaveLength(1);
      expect(roots[0]).toMatchObject({ name: 'sip.receive', service: 'sipedge-edge' });
      expect(roots[0]!.attributes).toMatchObject({ 'sip.method': 'INVITE', 'network.transport': 'udp' });
      expect(
        trace.filter((s) => s.parentSpanId !== '' && parentOf(s) === undefined),
        described,
      ).toEqual([]);

      // sip.receive → sip.server_transaction → sip.client_transaction → sip.send.
      const server = trace.find((s) => s.name === 'sip.server_transaction')!;
      expect(server.service).toBe('sipedge-worker');
      expect(parentOf(server)).toBe(roots[0]);
      const client = trace.find((s) => s.name === 'sip.client_transaction' && parentOf(s) === server);
      expect(client?.attributes, described).toMatchObject({ 'sip.fork_index': '0', 'sip.method': 'INVITE' });
      const sent = trace.find((s) => s.name === 'sip.send' && parentOf(s) === client);
      expect(sent?.service, described).toBe('sipedge-edge');

      // Later work joins the trace: the 200's handling and Timer L, children of the server transaction.
      const ok = trace.find((s) => s.name === 'sip.response' && s.attributes['sip.status_code'] === '200');
      expect(ok && parentOf(ok), described).toBe(server);
      const timerL = trace.find((s) => s.name === 'sip.timer' && s.attributes['sip.timer'] === 's.L');
      expect(timerL && parentOf(timerL), described).toBe(server);

      // An edge and a worker at least: one trace across processes.
      expect(new Set(trace.map((s) => s.pid)).size, traceId).toBeGreaterThanOrEqual(2);
    }

    const all = [...traces.values()].flat();
    const pids = (service: string) => new Set(all.filter((s) => s.service === service).map((s) => s.pid));
    expect(pids('sipedge-worker').size).toBe(2);
    process.stdout.write(
      `tracing: ${CALLS} INVITE traces, ${all.length} spans, from ${pids('sipedge-edge').size} edge and ${pids('sipedge-worker').size} worker processes\n`,
    );

    // Worker metrics arrive over OTLP too.
    const metricsDeadline = Date.now() + 10_000;
    while (Date.now() < metricsDeadline && !receiver.metricNames.has('sipedge.worker.redis.duration')) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([...receiver.metricNames]).toEqual(
      expect.arrayContaining([
        'sipedge.worker.active_transactions',
        'sipedge.worker.transaction.duration',
        'sipedge.worker.timer.lateness',
        'sipedge.worker.handoff.latency',
        'sipedge.worker.redis.duration',
      ]),
    );
  }, 120_000);
});
