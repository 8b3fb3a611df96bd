/**
 * OpenTelemetry across nodes: calls placed through a distributed deployment (two edge processes
 * behind one address, two worker processes, Redis, NATS) whose processes export traces and
 * metrics (sipedge.worker.* and sipedge.edge.*) over OTLP/HTTP (JSON) to a receiver run by this test.
 *
 * What is guaranteed, and asserted, for each call's INVITE: one trace holding the edge's
 * `sip.receive` (the root) → a worker's `sip.server_transaction` → `sip.client_transaction` → an
 * edge's `sip.send`; the callee's responses, handled later, join that trace through the traceparent stored in the call record (as a fired deadline does); every
 * span but the root has its parent in the trace, and a call that completes fires no timer at all.
 *
 * Spans from both edges in each INVITE's trace: the callee registers over TCP and the caller places
 * its calls over one TCP connection of its own, opened next. The fleet's primary hands accepted
 * connections out round-robin (Node's cluster scheduling: the edge that took one goes to the back of
 * the queue of free edges), so with no other connection in between the caller's lands on the edge
 * that did not take the REGISTER. The proxy tries a contact registered over a connection on that
 * flow first, through the edge that holds it (the binding names it): that edge's `sip.send`, a
 * child of the worker's `sip.client_transaction`, is in the trace whose root is the other edge's
 * `sip.receive` (the registration's connection is closed by then, so that send reports the flow
 * closed and the proxy goes on to the Contact address through the receiving edge, §18.1.1). Every
 * message of a call goes to one worker (call affinity: a hash of the Call-ID over the live workers),
 * so each trace's worker spans all come from one worker process.
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

/** The trace of each INVITE's server transaction, by trace id. */
function inviteTraces(spans: Span[]): Map<string, Span[]> {
  const ids = new Set(
    spans
      .filter((s) => s.name === 'sip.server_transaction' && s.attributes['sip.method'] === 'INVITE')
      .map((s) => s.traceId),
  );
  return new Map([...ids].map((id) => [id, spans.filter((s) => s.traceId === id)]));
}

/** The worker's handling of the callee's 200, the call's last event in the INVITE's trace. */
const okOf = (trace: Span[]) =>
  trace.find((s) => s.name === 'sip.response' && s.attributes['sip.status_code'] === '200');

/** Complete: every parent present and the 200 handled. */
function complete(trace: Span[]): boolean {
  const ids = new Set(trace.map((s) => s.spanId));
  return trace.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId)) && okOf(trace) !== undefined;
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

  it('each INVITE is one trace through both edges and one worker, no timer fired', async () => {
    const callee = await registeredCallee({
      target: deployment.target,
      scenario: 'uas-answer',
      user: 'traced',
      transport: 'tcp',
      calls: CALLS,
      pauseMs: 100,
      timeoutS: 60,
      // The proxy reaches it over a new connection for each call.
      connectionPerCall: true,
    });
    // The edge that took the REGISTER's connection (both REGISTERs, the challenged one and its retry).
    const registerDeadline = Date.now() + 10_000;
    const registers = () =>
      receiver.spans.filter((s) => s.name === 'sip.receive' && s.attributes['sip.method'] === 'REGISTER');
    while (Date.now() < registerDeadline && registers().length < 2) await new Promise((r) => setTimeout(r, 100));
    const registrars = new Set(registers().map((s) => s.pid));
    expect(registers()).toHaveLength(2);
    expect(registrars.size).toBe(1);
    const registrar = [...registrars][0]!;
    // One connection for all the calls, the next one the fleet accepts: on the other edge.
    const caller = await call(deployment.target, 'tcp', 'traced', { calls: CALLS, rate: 2, pauseMs: 200 });
    expectAllSucceeded('traced calls', [caller, await callee.done]);

    // The processes export every 100 ms.
    const deadline = Date.now() + 20_000;
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
      expect(roots[0]!.attributes).toMatchObject({ 'sip.method': 'INVITE', 'network.transport': 'tcp' });
      expect(
        trace.filter((s) => s.parentSpanId !== '' && parentOf(s) === undefined),
        described,
      ).toEqual([]);

      // sip.receive → sip.server_transaction → sip.client_transaction → sip.send.
      const server = trace.find((s) => s.name === 'sip.server_transaction')!;
      expect(server.service).toBe('sipedge-worker');
      expect(parentOf(server)).toBe(roots[0]);
      const clients = trace.filter((s) => s.name === 'sip.client_transaction' && parentOf(s) === server);
      expect(clients.length, described).toBeGreaterThan(0);
      for (const client of clients) {
        expect(client.attributes, described).toMatchObject({ 'sip.fork_index': '0', 'sip.method': 'INVITE' });
      }
      const sends = trace.filter((s) => s.name === 'sip.send' && clients.includes(parentOf(s)!));
      expect(new Set(sends.map((s) => s.service)), described).toEqual(new Set(['sipedge-edge']));

      // Both edges: the caller's connection on one, the registration's flow (tried first) on the other;
      // the receiving edge then sends to the Contact address.
      expect(roots[0]!.pid, described).not.toBe(registrar);
      expect(
        sends.some((s) => s.pid === registrar),
        described,
      ).toBe(true);
      expect(
        sends.some((s) => s.pid === roots[0]!.pid && s.attributes['sip.delivery_error'] === undefined),
        described,
      ).toBe(true);
      expect(new Set(trace.filter((s) => s.service === 'sipedge-edge').map((s) => s.pid)).size, described).toBe(2);

      // Later work joins the trace: the 200's handling, a child of the server transaction. A call
      // that completes fires no timer (issue 16: its deadline is removed with the final response).
      const ok = okOf(trace);
      expect(ok && parentOf(ok), described).toBe(server);
      expect(
        trace.filter((s) => s.name === 'sip.timer'),
        described,
      ).toEqual([]);

      // Two edges and one worker: one trace across processes, every worker event on the call's worker.
      expect(new Set(trace.filter((s) => s.service === 'sipedge-worker').map((s) => s.pid)).size, described).toBe(1);
      expect(new Set(trace.map((s) => s.pid)).size, traceId).toBe(3);
    }

    const all = [...traces.values()].flat();
    const pids = (service: string) => new Set(all.filter((s) => s.service === service).map((s) => s.pid));
    expect(pids('sipedge-edge').size).toBe(2);
    expect([1, 2]).toContain(pids('sipedge-worker').size);
    process.stdout.write(
      `tracing: ${CALLS} INVITE traces, ${all.length} spans, from ${pids('sipedge-edge').size} edge and ${pids('sipedge-worker').size} worker processes\n`,
    );

    // Worker and edge metrics arrive over OTLP too (recorded once into OTel and Prometheus).
    const expectedMetrics = [
      'sipedge.worker.active_transactions',
      'sipedge.worker.transaction.duration',
      'sipedge.worker.handoff.latency',
      'sipedge.worker.redis.duration',
      'sipedge.edge.messages.received',
      'sipedge.edge.requests',
      'sipedge.edge.responses',
      'sipedge.edge.handoff.duration',
      'sipedge.edge.open_flows',
    ];
    const metricsDeadline = Date.now() + 10_000;
    while (Date.now() < metricsDeadline && !expectedMetrics.every((name) => receiver.metricNames.has(name))) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([...receiver.metricNames]).toEqual(expect.arrayContaining(expectedMetrics));
  }, 120_000);
});
