import { isIP } from 'node:net';
import { connectNatsBus } from '@sipedge/bus';
import { DEFAULT_EDGE_CONFIG, Edge } from '@sipedge/edge';
import type { ProxyConfig } from '@sipedge/proxy';
import { parseMessage, type SipMessage } from '@sipedge/sip';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { createBullmqTimers } from '@sipedge/timers';
import { DEFAULT_TIMERS, type TimerSettings } from '@sipedge/transaction';
import { type TuDeps, Worker } from '@sipedge/worker';
import { startNats, startRedis, type StartedNats, type StartedRedis } from './containers.js';
import { freePort } from './free-port.js';
import type { UdpClient } from './sip-client.js';

/** The fleet secret every worker of the test cluster shares. */
const ROUTE_TOKENS = { secret: 'cluster-test-fleet-secret-0123456789abcdef' };

export const logger = createLogger({ name: 'cluster', level: process.env.LOG_LEVEL ?? 'silent' });

export interface ClusterOptions {
  /** Workers started in this process (0: the test starts its own, e.g. as processes). */
  workers?: number;
  timers?: TimerSettings;
  /** Extra TU settings for every worker (auth, trusted sources, ...). */
  tu?: (stores: Awaited<ReturnType<typeof createRedisStores>>) => Partial<TuDeps>;
}

/**
 * One edge and N workers in this process, over real NATS, Redis and BullMQ in containers, serving
 * `example.com` at 127.0.0.1:<edgePort> (UDP). For tests that drive SIP clients over real sockets.
 */
export class Cluster {
  edgePort = 0;
  readonly workers: Worker[] = [];
  /** Messages each worker took from the bus. */
  readonly handled: number[] = [];
  private readonly closers: (() => Promise<unknown>)[] = [];
  private redis!: StartedRedis;
  private nats!: StartedNats;

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster();
    [c.redis, c.nats] = await Promise.all([startRedis(), startNats()]);
    c.edgePort = await freePort();
    const edgeStores = await createRedisStores({ url: c.redis.url }, logger);
    const edgeBus = await connectNatsBus({ servers: c.nats.url, name: 'edge', logger });
    const edge = new Edge(
      {
        ...DEFAULT_EDGE_CONFIG,
        edgeId: 'e1',
        udp: [{ address: '127.0.0.1', port: c.edgePort }],
        tcp: [{ address: '127.0.0.1', port: c.edgePort }],
        advertised: { host: '127.0.0.1', port: c.edgePort },
        http: { address: '127.0.0.1', port: 0 },
      },
      {
        bus: edgeBus,
        connections: edgeStores.connections,
        dialogs: edgeStores.dialogs,
        captures: edgeStores.captures,
        edges: edgeStores.edges,
        abuse: edgeStores.abuse,
        locations: edgeStores.locations,
        logger,
        processMetrics: false,
      },
    );
    await edge.start();
    c.closers.push(
      () => edge.stop(),
      () => edgeBus.close(),
      () => edgeStores.close(),
    );
    const proxy: ProxyConfig = {
      advertised: { host: '127.0.0.1', port: c.edgePort },
      selfHosts: new Set(['127.0.0.1']),
      selfPorts: new Set([c.edgePort]),
      domains: new Set(['example.com']),
      supported: [],
      recordRoute: true,
      udpMtu: 1300,
    };
    for (let i = 0; i < (options.workers ?? 2); i++) {
      c.handled.push(0);
      const stores = await createRedisStores({ url: c.redis.url }, logger);
      const bus = await connectNatsBus({ servers: c.nats.url, name: `worker-${i}`, logger });
      const timers = createBullmqTimers({ redis: c.redis.url, logger });
      const worker = new Worker(
        {
          proxy,
          routeTokens: ROUTE_TOKENS,
          timers: options.timers ?? DEFAULT_TIMERS,
          timerC: true,
          deliveryTimeoutMs: 1000,
        },
        {
          bus,
          records: stores.records,
          dialogs: stores.dialogs,
          edges: stores.edges,
          timers,
          logger,
          handoffTaken: () => c.handled[i]!++,
          tu: {
            proxy,
            locations: stores.locations,
            isTrusted: () => true,
            routeTokens: ROUTE_TOKENS,
            registrar: {},
            resolve: async (hop) =>
              isIP(hop.host) === 0
                ? []
                : [{ transport: hop.transport ?? 'udp', address: hop.host, port: hop.port ?? 5060 }],
            ...options.tu?.(stores),
          },
        },
      );
      await worker.start();
      c.workers.push(worker);
      c.closers.push(
        () => worker.stop(),
        () => bus.close(),
        () => stores.close(),
      );
    }
    return c;
  }

  get natsUrl(): string {
    return this.nats.url;
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  async stop(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
    await Promise.all([this.redis?.container.stop(), this.nats?.container.stop()]);
  }
}

/** The next message a client received that matches (each client's messages are scanned from the start). */
export async function nextMessage(
  client: UdpClient,
  match: (m: SipMessage) => boolean,
  timeoutMs = 10_000,
): Promise<SipMessage> {
  const deadline = Date.now() + timeoutMs;
  for (let seen = 0; ;) {
    while (seen < client.received.length) {
      const m = parseMessage(client.received[seen++]!.data);
      if (match(m)) return m;
    }
    if (Date.now() > deadline) throw new Error('no matching message');
    await new Promise((r) => setTimeout(r, 10));
  }
}
