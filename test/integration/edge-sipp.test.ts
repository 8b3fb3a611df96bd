/**
 * Stateless protection must leave a legitimate load alone: SIPp sends OPTIONS from a trusted
 * source (loopback) at 300/s for 3 s through an edge whose per-source limit is 50/s, a stand-in worker
 * answers each one 200 through the edge, and every call succeeds with nothing rate-limited.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectNatsBus, type Bus } from '@sipedge/bus';
import { DEFAULT_EDGE_CONFIG, Edge } from '@sipedge/edge';
import { QUEUES, SUBJECTS, decodeInbound, encodeOutbound } from '@sipedge/handoff';
import { buildResponse, parseMessage, responseDestination } from '@sipedge/sip';
import { createRedisStores, type Stores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';

const logger = createLogger({ name: 'edge-sipp', level: 'silent' });
const scenario = fileURLToPath(new URL('../sipp/options-uac.xml', import.meta.url));

describe('edge under a SIPp load from a trusted source', () => {
  let redis: StartedRedis;
  let nats: StartedNats;
  let stores: Stores;
  let buses: Bus[] = [];
  let edge: Edge;

  beforeAll(async () => {
    [redis, nats] = await Promise.all([startRedis(), startNats()]);
    stores = await createRedisStores({ url: redis.url }, logger);
    const [edgeBus, workerBus] = await Promise.all([
      connectNatsBus({ servers: nats.url, name: 'edge', logger }),
      connectNatsBus({ servers: nats.url, name: 'worker', logger }),
    ]);
    buses = [edgeBus, workerBus];
    await workerBus.subscribe(
      SUBJECTS.inbound,
      async (m) => {
        const request = parseMessage(Buffer.from(m.data));
        const meta = decodeInbound(m.headers);
        await workerBus.publish(
          SUBJECTS.edgeOutbound(meta.edgeId),
          buildResponse(request, 200, { toTag: 'load' }).toBuffer(),
          encodeOutbound({
            transport: meta.transport,
            destination: responseDestination(request.topVia!),
            kind: 'response',
          }),
        );
      },
      { queue: QUEUES.workers },
    );
    edge = new Edge(
      {
        ...DEFAULT_EDGE_CONFIG,
        edgeId: 'load',
        udp: [{ address: '127.0.0.1', port: await freePort() }],
        tcp: [],
        http: { address: '127.0.0.1', port: 0 },
        // A per-source limit far below the load: only the trust entry lets it through.
        rateLimit: { ...DEFAULT_EDGE_CONFIG.rateLimit, ratePerSecond: 50, burst: 50, trusted: ['127.0.0.0/8'] },
      },
      {
        bus: edgeBus,
        connections: stores.connections,
        dialogs: stores.dialogs,
        captures: stores.captures,
        edges: stores.edges,
        abuse: stores.abuse,
        locations: stores.locations,
        logger,
        processMetrics: false,
      },
    );
    await edge.start();
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all(buses.map((b) => b.close()));
    await stores?.close();
    await Promise.all([redis?.container.stop(), nats?.container.stop()]);
  });

  it('completes every call and rate-limits nothing', async () => {
    const target = edge.listening().udp[0]!;
    const sipp = spawn(
      'sipp',
      [
        `${target.address}:${target.port}`,
        '-sf',
        scenario,
        '-i',
        '127.0.0.1',
        '-p',
        String(await freePort()),
        '-m',
        '900',
        '-r',
        '300',
        '-l',
        '300',
        '-timeout',
        '30s',
        '-timeout_error',
        '-nostdin',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    sipp.stdout.on('data', (d: Buffer) => (output += d.toString()));
    sipp.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => sipp.on('exit', resolve));
    expect(code, output.slice(-2000)).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${edge.httpAddress!.port}/metrics`)).text();
    expect(metrics).toMatch(/sipedge_edge_messages_dropped_total\{reason="rate-limited"\} 0/);
    expect(metrics).toMatch(/sipedge_edge_messages_received_total\{transport="udp",kind="request"\} (9\d\d|\d{4})/);
  }, 60_000);
});
