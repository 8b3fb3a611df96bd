import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// deploy/compose.yaml checked without Docker Compose (not installed in CI): its services, the
// settings it gives sipedge against docs/configuration.md, the addresses it points them at, its
// published ports, and the collector configuration it mounts.

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[];
}
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const sipedge = Object.entries(services).filter(([, s]) => s.image.includes('SIPEDGE_IMAGE'));
const configurationDoc = read('docs/configuration.md');

/** `${NAME:-default}` → default (what Compose substitutes when NAME is unset). */
const defaults = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
const hostOf = (url: string) => new URL(defaults(url)).hostname;

describe('deploy/compose.yaml', () => {
  it('has two edges, two workers, Redis, NATS, a collector and Jaeger', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['edge-1', 'edge-2', 'jaeger', 'nats', 'otel-collector', 'redis', 'worker-1', 'worker-2'].sort(),
    );
    expect(sipedge.map(([name, s]) => `${name}:${s.command?.join(' ')}`).sort()).toEqual([
      'edge-1:edge',
      'edge-2:edge',
      'worker-1:worker',
      'worker-2:worker',
    ]);
    expect(services.nats!.command).toContain('-js');
  });

  it('gives sipedge only settings that docs/configuration.md names, or OpenTelemetry SDK variables', () => {
    for (const [name, service] of sipedge) {
      for (const variable of Object.keys(service.environment ?? {})) {
        if (variable.startsWith('OTEL_')) continue;
        expect(configurationDoc, `${name}: ${variable}`).toContain(`\`${variable}\``);
      }
    }
  });

  it('names each edge and worker once and points them at services of the file', () => {
    const ids = sipedge.map(([, s]) => s.environment!.SIPEDGE_EDGE_ID ?? s.environment!.SIPEDGE_WORKER_ID);
    expect(new Set(ids).size).toBe(4);
    for (const [, service] of sipedge) {
      const env = service.environment!;
      expect(Object.keys(services)).toContain(hostOf(env.REDIS_URL!));
      expect(Object.keys(services)).toContain(hostOf(env.NATS_URL!));
      expect(Object.keys(services)).toContain(hostOf(env.OTEL_EXPORTER_OTLP_ENDPOINT!));
      expect(defaults(env.SIPEDGE_AUTH_SECRET!).length).toBeGreaterThanOrEqual(32);
    }
  });

  it("starts each worker's ops server (/healthz, /metrics) on a published port", () => {
    for (const name of ['worker-1', 'worker-2']) {
      const worker = services[name]!;
      const http = worker.environment!.SIPEDGE_WORKER_HTTP;
      expect(http, name).toMatch(/^0\.0\.0\.0:\d+$/);
      const port = http!.split(':')[1];
      expect(worker.ports, name).toEqual([expect.stringMatching(new RegExp(`^\\d+:${port}/tcp$`))]);
    }
  });

  it('publishes each host port once, edge-1 on the advertised port', () => {
    const published = Object.values(services).flatMap((s) =>
      (s.ports ?? []).map((p) => {
        const [host, rest] = p.split(':');
        return `${host}/${rest!.split('/')[1] ?? 'tcp'}`;
      }),
    );
    expect(new Set(published).size).toBe(published.length);
    const advertisedPort = defaults(services['edge-1']!.environment!.SIPEDGE_ADVERTISED!).split(':')[1];
    expect(services['edge-1']!.ports).toEqual(
      expect.arrayContaining([`${advertisedPort}:5060/udp`, `${advertisedPort}:5060/tcp`]),
    );
  });

  it("publishes each edge's WebSocket listener (SIPEDGE_WS) over TCP, edge-1 on the port the workers advertise", () => {
    for (const name of ['edge-1', 'edge-2']) {
      const ws = services[name]!.environment!.SIPEDGE_WS;
      expect(ws, name).toMatch(/^0\.0\.0\.0:\d+$/);
      const port = ws!.split(':')[1];
      expect(services[name]!.ports, name).toContainEqual(expect.stringMatching(new RegExp(`^\\d+:${port}/tcp$`)));
    }
    // No SIPEDGE_ADVERTISED_WS_PORT: the workers advertise the listener's port, which edge-1 publishes as is.
    for (const name of ['worker-1', 'worker-2']) {
      expect(services[name]!.environment!.SIPEDGE_WS, name).toBe(services['edge-1']!.environment!.SIPEDGE_WS);
      expect(services[name]!.environment!.SIPEDGE_ADVERTISED_WS_PORT, name).toBeUndefined();
    }
    const port = services['edge-1']!.environment!.SIPEDGE_WS!.split(':')[1];
    expect(services['edge-1']!.ports).toContain(`${port}:${port}/tcp`);
  });

  it('mounts a collector configuration whose pipelines use what it defines and export to Jaeger', () => {
    const mount = services['otel-collector']!.volumes![0]!.split(':')[0]!;
    const path = `${root}deploy/${mount.replace(/^\.\//, '')}`;
    expect(existsSync(path)).toBe(true);
    const config = parse(readFileSync(path, 'utf8')) as {
      receivers: Record<string, unknown>;
      processors: Record<string, unknown>;
      exporters: Record<string, { endpoint?: string }>;
      service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const r of pipeline.receivers) expect(config.receivers).toHaveProperty([r]);
      for (const p of pipeline.processors) expect(config.processors).toHaveProperty([p]);
      for (const e of pipeline.exporters) expect(config.exporters).toHaveProperty([e]);
    }
    expect(config.service.pipelines.traces!.exporters).toContain('otlp/jaeger');
    expect(config.exporters['otlp/jaeger']!.endpoint).toBe('jaeger:4317');
  });
});
