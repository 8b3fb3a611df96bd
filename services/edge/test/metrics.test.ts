import { captureMetrics } from '@sipedge/telemetry';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS, EdgeMetrics } from '../src/metrics.js';

/** The value of one sample line in the text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The samples of `metric` whose `label` has each of `values`, in that order (undefined where absent). */
function samplesBy(text: string, metric: string, label: string, values: readonly string[]): (number | undefined)[] {
  return values.map((value) => sample(text, `${metric}{${label}="${value}"}`));
}

describe('EdgeMetrics', () => {
  it('counts messages received by transport and kind', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.received('udp', 'request');
    metrics.received('udp', 'request');
    metrics.received('tls', 'response');
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE sipedge_edge_messages_received_total counter');
    expect(sample(text, 'sipedge_edge_messages_received_total{transport="udp",kind="request"}')).toBe(2);
    expect(sample(text, 'sipedge_edge_messages_received_total{transport="tls",kind="response"}')).toBe(1);
    expect(sample(text, 'sipedge_edge_messages_received_total{transport="tcp",kind="request"}')).toBe(0);
  });

  it('counts requests by method (unknown methods as "other") and responses by class', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.received('udp', 'request', 'INVITE');
    metrics.received('tcp', 'request', 'INVITE');
    metrics.received('udp', 'request', 'FROBNICATE');
    metrics.received('udp', 'response', 180);
    metrics.received('udp', 'response', 200);
    metrics.received('udp', 'response', 486);
    const text = await metrics.registry.metrics();
    const methods = ['INVITE', 'other', 'BYE', 'FROBNICATE'];
    expect(samplesBy(text, 'sipedge_edge_requests_total', 'method', methods)).toEqual([2, 1, 0, undefined]);
    expect(samplesBy(text, 'sipedge_edge_responses_total', 'class', ['1xx', '2xx', '4xx', '6xx'])).toEqual([
      1, 1, 1, 0,
    ]);
  });

  it('counts drops by reason, every reason present from the start', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.dropped('no-via');
    const text = await metrics.registry.metrics();
    for (const reason of DROP_REASONS) {
      expect(sample(text, `sipedge_edge_messages_dropped_total{reason="${reason}"}`)).toBe(reason === 'no-via' ? 1 : 0);
    }
  });

  it('counts rate limiting across dropped messages and rejected connections', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.dropped('rate-limited');
    metrics.dropped('rate-limited');
    metrics.connectionRejected('rate-limited');
    metrics.connectionRejected('per-source-limit');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'sipedge_edge_rate_limited_total')).toBe(3);
    expect(sample(text, 'sipedge_edge_messages_dropped_total{reason="rate-limited"}')).toBe(2);
    const reasons = ['rate-limited', 'per-source-limit', 'denied'];
    expect(samplesBy(text, 'sipedge_edge_connections_rejected_total', 'reason', reasons)).toEqual([1, 1, 0]);
  });

  it('counts stateless responses by status', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    for (const status of [503, 503, 400]) metrics.statelessResponse(status);
    const text = await metrics.registry.metrics();
    expect(samplesBy(text, 'sipedge_edge_stateless_responses_total', 'status', ['503', '400'])).toEqual([2, 1]);
  });

  it('counts UDP keep-alives by kind, both kinds exposed from the start', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    expect(sample(await metrics.registry.metrics(), 'sipedge_edge_udp_keepalives_total{kind="stun"}')).toBe(0);
    for (const kind of ['crlf', 'crlf', 'stun'] as const) metrics.udpKeepalive(kind);
    const text = await metrics.registry.metrics();
    expect(samplesBy(text, 'sipedge_edge_udp_keepalives_total', 'kind', ['crlf', 'stun'])).toEqual([2, 1]);
  });

  it('counts the new calls placed on another worker than their own, exposed from the start', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    expect(sample(await metrics.registry.metrics(), 'sipedge_edge_calls_placed_elsewhere_total')).toBe(0);
    metrics.callPlacedElsewhere();
    metrics.callPlacedElsewhere();
    expect(sample(await metrics.registry.metrics(), 'sipedge_edge_calls_placed_elsewhere_total')).toBe(2);
  });

  it('tracks open flows', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    metrics.flowOpened();
    metrics.flowOpened();
    metrics.flowOpened();
    metrics.flowClosed();
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE sipedge_edge_open_flows gauge');
    expect(sample(text, 'sipedge_edge_open_flows')).toBe(2);
  });

  it('observes hand-off latency in buckets from 0.1 ms to 1 s', async () => {
    const metrics = new EdgeMetrics({ defaultMetrics: false });
    for (const seconds of [0.00005, 0.0003, 2]) metrics.handoff(seconds);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE sipedge_edge_handoff_seconds histogram');
    const bounds = ['0.0001', '0.0005', '1', '+Inf'];
    expect(samplesBy(text, 'sipedge_edge_handoff_seconds_bucket', 'le', bounds)).toEqual([1, 2, 2, 3]);
    expect(sample(text, 'sipedge_edge_handoff_seconds_count')).toBe(3);
  });

  it('keeps instances apart and off the global registry', async () => {
    const first = new EdgeMetrics({ defaultMetrics: false });
    const second = new EdgeMetrics({ defaultMetrics: false });
    first.dropped('denied');
    expect(sample(await second.registry.metrics(), 'sipedge_edge_messages_dropped_total{reason="denied"}')).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain('sipedge_edge_');
  });

  it('collects prefixed process metrics unless turned off', async () => {
    const withDefaults = new EdgeMetrics();
    const text = await withDefaults.registry.metrics();
    expect(text).toContain('sipedge_edge_process_cpu_seconds_total');
    expect(text).toContain('sipedge_edge_nodejs_heap_size_used_bytes');
    const without = await new EdgeMetrics({ defaultMetrics: false }).registry.metrics();
    expect(without).not.toContain('sipedge_edge_process_cpu_seconds_total');
  });

  it('records the same measurements into the OpenTelemetry meter (sipedge.edge.*, exported over OTLP)', async () => {
    const { meter, collect } = await captureMetrics();
    const metrics = new EdgeMetrics({ defaultMetrics: false, meter });
    metrics.received('udp', 'request', 'INVITE');
    metrics.received('tcp', 'response', 486);
    metrics.dropped('rate-limited');
    metrics.connectionRejected('denied');
    metrics.statelessResponse(503);
    metrics.flowOpened();
    metrics.handoff(0.0003);

    const byName = new Map((await collect()).map((m) => [m.name, m]));
    const value = (name: string, attributes: Record<string, string> = {}) =>
      byName.get(name)?.points.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))?.value;
    expect(value('sipedge.edge.messages.received', { transport: 'udp', kind: 'request' })).toBe(1);
    expect(value('sipedge.edge.messages.received', { transport: 'tls', kind: 'request' })).toBe(0);
    expect(value('sipedge.edge.requests', { method: 'INVITE' })).toBe(1);
    expect(value('sipedge.edge.requests', { method: 'BYE' })).toBe(0);
    expect(value('sipedge.edge.responses', { class: '4xx' })).toBe(1);
    expect(value('sipedge.edge.messages.dropped', { reason: 'rate-limited' })).toBe(1);
    expect(value('sipedge.edge.rate_limited')).toBe(1);
    expect(value('sipedge.edge.connections.rejected', { reason: 'denied' })).toBe(1);
    expect(value('sipedge.edge.stateless_responses', { status: '503' })).toBe(1);
    expect(value('sipedge.edge.open_flows')).toBe(1);
    expect(byName.get('sipedge.edge.handoff.duration')).toMatchObject({
      unit: 's',
      points: [{ value: { count: 1, sum: 0.0003 } }],
    });
    // And the Prometheus registry has the same counts.
    const text = await metrics.registry.metrics();
    expect(sample(text, 'sipedge_edge_requests_total{method="INVITE"}')).toBe(1);
    expect(sample(text, 'sipedge_edge_rate_limited_total')).toBe(1);
  });
});
