import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Network, type StartedNetwork } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN, authEnv, call, expectAllSucceeded, passwordOf } from '../e2e/common.js';
import { startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';
import {
  containerLogs,
  imagePresent,
  networkGateway,
  sipedgeImage,
  startSipedgeContainer,
  type StartedSipedge,
} from '../support/sipedge-containers.js';
import { runSipp, startSipp, type Transport } from '../support/sipp.js';

// The sipedge container image (deploy/Dockerfile) as a distributed deployment: on a Docker network
// of the test's own, Redis and NATS, two `edge` containers and two `worker` containers, and SIPp
// on the host placing calls through them. Both edges publish their SIP port on the host (edge-1 on
// the advertised port, edge-2 on another); the callee registers through edge-1 and is called
// through edge-2. The callee listens on the network's gateway address, which the containers reach
// and which stays on this host. Every container exports OTLP/HTTP (the standard OTEL_* variables,
// as deploy/compose.yaml sets them) to a receiver of the test's on that address too. The workers run
// their ops HTTP server (SIPEDGE_WORKER_HTTP, as in deploy/compose.yaml), whose /healthz and
// /metrics are checked like the edges'.
//
// Needs the image: `bash scripts/node-image.sh && bash scripts/sipedge-image.sh`. Without it the
// suite is skipped, except under CI (CI=true), where a missing image is a failure.

const image = sipedgeImage();
const present = imagePresent(image);
const inCi = process.env.CI === 'true' || process.env.CI === '1';
if (!present && !inCi) {
  process.stdout.write(
    `container-smoke-sipedge: skipped, no image ${image} ` +
      '(build it with `bash scripts/node-image.sh && bash scripts/sipedge-image.sh`)\n',
  );
}

const CALLEE = 'bob';
/** The workers' ops port in their containers (SIPEDGE_WORKER_HTTP), as in deploy/compose.yaml. */
const WORKER_HTTP_PORT = 8081;

describe.skipIf(!present && !inCi)(`sipedge image ${image}: two edges, two workers, Redis, NATS`, () => {
  let network: StartedNetwork;
  let redis: StartedRedis;
  let nats: StartedNats;
  let gateway: string;
  const edges: StartedSipedge[] = [];
  const workers: StartedSipedge[] = [];
  /** Host ports of edge-1's and edge-2's SIP port (UDP and TCP); edge-1's is the advertised one. */
  let edge1Port: number;
  let edge2Port: number;
  /** OTLP/HTTP requests received: path and body (protobuf: the service names are readable). */
  const otlp: { path: string; body: Buffer }[] = [];
  let otlpServer: Server | undefined;

  beforeAll(async () => {
    if (!present) {
      throw new Error(
        `Docker image ${image} is missing: build it with ` +
          '`bash scripts/node-image.sh && bash scripts/sipedge-image.sh` (.ci/run does so before the tests)',
      );
    }
    network = await new Network().start();
    gateway = networkGateway(network);
    [redis, nats] = await Promise.all([
      startRedis({ network: { network, alias: 'redis' } }),
      startNats({ network: { network, alias: 'nats' } }),
    ]);
    [edge1Port, edge2Port] = [await freePort(), await freePort()];
    otlpServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        otlp.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => otlpServer!.listen(0, gateway, resolve));
    const otlpEndpoint = `http://${gateway}:${(otlpServer.address() as AddressInfo).port}`;
    const env: Record<string, string> = {
      ...(authEnv([CALLEE]) as Record<string, string>),
      // The caller reaches the edges through Docker's published ports, from the gateway address:
      // an untrusted source, and a call to a registered user of the served domain needs no trust.
      SIPEDGE_AUTH_PROXY: 'false',
      REDIS_URL: 'redis://redis:6379',
      NATS_URL: 'nats://nats:4222',
      // What SIPp reaches: the fleet's one address (edge-1's published port).
      SIPEDGE_ADVERTISED: `127.0.0.1:${edge1Port}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    };
    // Workers first: an edge answers 503 while no worker takes its hand-offs. Each with its ops
    // HTTP server (/healthz, /metrics) on 8081, as deploy/compose.yaml and the Helm chart run them.
    for (const name of ['worker-1', 'worker-2']) {
      workers.push(
        await startSipedgeContainer({
          role: 'worker',
          name,
          network,
          env: { ...env, SIPEDGE_WORKER_HTTP: `0.0.0.0:${WORKER_HTTP_PORT}` },
          http: true,
          httpPort: WORKER_HTTP_PORT,
        }),
      );
    }
    edges.push(
      await startSipedgeContainer({ role: 'edge', name: 'edge-1', network, env, sipHostPort: edge1Port, http: true }),
      await startSipedgeContainer({ role: 'edge', name: 'edge-2', network, env, sipHostPort: edge2Port, http: true }),
    );
  });

  afterAll(async () => {
    await Promise.all([...edges, ...workers].map((s) => s.container.stop()));
    await Promise.all([redis?.container.stop(), nats?.container.stop()]);
    await network?.stop();
    await new Promise((resolve) => (otlpServer === undefined ? resolve(undefined) : otlpServer.close(resolve)));
  });

  /** What every container said (the end of it), printed when a SIPp run fails. */
  const printLogs = async () => process.stdout.write(`container logs:\n${await logs()}\n`);
  const logs = async () =>
    (
      await Promise.all(
        [...edges, ...workers].map(
          async (s) => `--- ${s.container.getName()}\n${await containerLogs(s.container, 20)}`,
        ),
      )
    ).join('\n');

  it('runs as a non-root user and answers its ops endpoints', async () => {
    for (const edge of edges) {
      const ready = await fetch(`${edge.httpUrl!}/readyz`);
      expect(ready.status, await logs()).toBe(200);
    }
    const id = await edges[0]!.container.exec(['id', '-u']);
    expect(id.output.trim()).toBe('1000');
  });

  for (const transport of ['tcp', 'udp'] as Transport[]) {
    it(`registers through edge-1 and calls through edge-2 over ${transport.toUpperCase()}`, async () => {
      // Docker's port publishing hands the datagrams on from the network's gateway address, and
      // the scenarios' Vias carry no rport: responses go to the Via's host (the `received`
      // address, the gateway) and port. So over UDP the clients send from the gateway address
      // too, to the same published ports. Over TCP, responses follow the connection.
      const localIp = transport === 'udp' ? gateway : '127.0.0.1';
      const callee = await startSipp({
        scenario: 'uas-answer',
        transport,
        localIp: gateway,
        calls: 1,
        pauseMs: 200,
        timeoutS: 30,
      });
      // The REGISTER comes from another SIPp than the callee (a third-party registration). Through a
      // published UDP port it would leave Docker's proxy from another port than its Via names, which
      // is how a NAT looks (nathelper's test 16): the registrar would reach the contact through that
      // port, the registering SIPp's, which is gone. So over UDP it goes to edge-1's own address on
      // the network, from the port its Via names; over TCP the published port is fine.
      const registrar =
        transport === 'udp' ? `${edges[0]!.container.getIpAddress(network.getName())}:5060` : `127.0.0.1:${edge1Port}`;
      const registered = await runSipp({
        scenario: 'register-contact',
        fill: { expect: 200 },
        transport,
        target: registrar,
        service: CALLEE,
        auth: { username: CALLEE, password: passwordOf(CALLEE), uri: DOMAIN },
        keys: { domain: DOMAIN, contact_host: gateway, contact_port: callee.port },
        localIp,
        calls: 1,
        timeoutS: 15,
      });
      if (registered.exitCode !== 0) await printLogs();
      expectAllSucceeded(`container register ${CALLEE} (${transport})`, [registered]);
      // The caller holds before its BYE: sent back to back through two edges and two workers, an
      // ACK and a BYE may overtake each other, and SIPp's callee fails a call on a BYE before the ACK.
      const caller = await call(`127.0.0.1:${edge2Port}`, transport, CALLEE, { localIp, timeoutS: 30, pauseMs: 200 });
      if (caller.exitCode !== 0) await printLogs();
      const answered = await callee.done;
      expectAllSucceeded(`container call (${transport})`, [caller, answered]);
    });
  }

  it('counted messages on both edges', async () => {
    for (const edge of edges) {
      const metrics = await (await fetch(`${edge.httpUrl!}/metrics`)).text();
      const received = [...metrics.matchAll(/^sipedge_edge_messages_received_total(?:\{[^}]*\})? (\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
      expect(received, `${edge.container.getName()} /metrics:\n${metrics.slice(0, 2000)}`).toBeGreaterThan(0);
    }
  });

  it("serves each worker's /healthz and /metrics, with the worker series and the calls' transactions", async () => {
    let handled = 0;
    for (const worker of workers) {
      const health = await fetch(`${worker.httpUrl!}/healthz`);
      expect(health.status, health.status === 200 ? '' : await logs()).toBe(200);
      expect(await health.text()).toBe('ok\n');
      const res = await fetch(`${worker.httpUrl!}/metrics`);
      expect(res.status).toBe(200);
      const metrics = await res.text();
      const context = `${worker.container.getName()} /metrics:\n${metrics.slice(0, 2000)}`;
      for (const name of [
        'sipedge_worker_active_transactions',
        'sipedge_worker_transaction_duration_seconds',
        'sipedge_worker_handoff_latency_seconds',
        'sipedge_worker_redis_duration_seconds',
      ]) {
        expect(metrics, context).toContain(`# TYPE ${name} `);
      }
      handled += Number(/^sipedge_worker_handoff_latency_seconds_count (\d+)/m.exec(metrics)?.[1] ?? 0);
    }
    // The REGISTERs and calls above went through the workers: hand-offs taken, between them.
    expect(handled).toBeGreaterThan(0);
  });

  it('exports traces over OTLP from the edges and the workers', async () => {
    const services = () => {
      const traces = otlp.filter((r) => r.path === '/v1/traces').map((r) => r.body.toString('latin1'));
      return ['sipedge-edge', 'sipedge-worker'].filter((name) => traces.some((body) => body.includes(name)));
    };
    const deadline = Date.now() + 15_000;
    while (services().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(services(), `OTLP requests: ${otlp.map((r) => r.path).join(', ')}`).toEqual([
      'sipedge-edge',
      'sipedge-worker',
    ]);
  });

  it('exports the edge and worker metrics over OTLP as well', async () => {
    const expected = ['sipedge.edge.requests', 'sipedge.edge.messages.received', 'sipedge.worker.handoff.latency'];
    const missing = () => {
      const bodies = otlp.filter((r) => r.path === '/v1/metrics').map((r) => r.body.toString('latin1'));
      return expected.filter((name) => !bodies.some((body) => body.includes(name)));
    };
    const deadline = Date.now() + 15_000;
    while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(missing(), `OTLP requests: ${otlp.map((r) => r.path).join(', ')}`).toEqual([]);
  });
});
