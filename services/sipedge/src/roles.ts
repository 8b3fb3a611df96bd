/**
 * The process roles: `edge` (SIP sockets, protection, hand-off), `worker` (transactions, proxy,
 * registrar) and `all` (both in one process). An edge and a worker run on Redis, NATS and BullMQ;
 * `all` without Redis and NATS settings runs on their in-memory twins instead (standalone mode).
 */
import { randomBytes } from 'node:crypto';
import { type Bus, MemoryBusHub, connectNatsBus } from '@sipedge/bus';
import { ConfigError, EnvReader } from '@sipedge/config';
import { Edge, type EdgeConfig, edgeConfigFromEnv } from '@sipedge/edge';
import { LocalLink } from '@sipedge/handoff';
import { type RedisConnection, type Stores, createMemoryStores, createRedisStores } from '@sipedge/store';
import { LOG_LEVELS, type Logger, createLogger, startTelemetry } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers, type TimerService, createBullmqTimers } from '@sipedge/timers';
import {
  type Worker,
  type WorkerEnvConfig,
  createWorker,
  startWorkerOpsServer,
  workerConfigFromEnv,
} from '@sipedge/worker';
import type { Environment } from './config-file.js';
import { startWorkerThread } from './worker-thread-host.js';

export const ROLES = ['all', 'edge', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Stops what a role started: drain the edge, stop the worker, close the connections. */
export type Stop = () => Promise<void>;

/** The role's logger (`edge`, `worker`, or `sipedge` for `all`) at `LOG_LEVEL`. */
export function roleLogger(role: Role, env: Environment): Logger {
  const level = new EnvReader(env).oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
  return createLogger({ name: role === 'all' ? 'sipedge' : role, level });
}

/** NATS, Redis and how the timers spread over Redis. */
export interface SharedConnections {
  natsUrl: string;
  redis: RedisConnection;
  /** BullMQ queues the deadlines are spread over (a Redis Cluster places each on its own slot). */
  timerShards: number;
}

/** A role's checked settings: what it connects to and the configuration of its edge and worker. */
export interface RolePlan {
  role: Role;
  /** Redis and NATS, or the in-memory twins (`all` only). */
  connections: SharedConnections | 'memory';
  edge?: EdgeConfig;
  worker?: WorkerEnvConfig;
  /** Standalone mode without SIPEDGE_FLEET_SECRET: the worker signs with a random secret of this process. */
  randomFleetSecret?: true;
  /**
   * Standalone mode with `SIPEDGE_THREADS` 2: the worker runs on a thread of its own, started from
   * these settings (those of the process, with the fleet secret the worker signs with).
   */
  workerThread?: { env: Environment };
}

/** Checks every setting a role needs (nothing connects yet); a bad one is a ConfigError naming it. */
export function planRole(role: Role, env: Environment): RolePlan {
  const connections = connectionsOf(role, env);
  // Standalone mode names its edge and worker; in a fleet the edge must be named, a worker gets its pid.
  let settings: Environment =
    connections === 'memory' ? { SIPEDGE_EDGE_ID: 'standalone', SIPEDGE_WORKER_ID: 'standalone', ...env } : env;
  const plan: RolePlan = {
    role,
    connections,
    ...(role === 'worker' ? {} : { edge: edgeConfigFromEnv(settings) }),
    ...(role === 'edge' ? {} : { worker: workerConfigFromEnv(settings) }),
  };
  if (plan.worker !== undefined && plan.worker.fleetSecret === undefined) {
    // Every worker of a fleet must verify the Record-Route tokens every other one signed.
    if (connections !== 'memory') {
      throw ConfigError.of(
        'SIPEDGE_FLEET_SECRET',
        'required in a fleet: at least 32 characters, the same on every worker',
      );
    }
    const secret = randomBytes(32).toString('base64url');
    plan.worker.fleetSecret = { secret };
    plan.randomFleetSecret = true;
    settings = { ...settings, SIPEDGE_FLEET_SECRET: secret };
  }
  if (connections === 'memory' && standaloneThreads(settings) === 2) plan.workerThread = { env: settings };
  return plan;
}

/**
 * Standalone mode's threads: 2 runs the worker on a thread of its own beside the edge's (two
 * cores' worth of work), 1 (the default) runs both on one. Not 2 by default: on a 2-core box
 * shared with its load generator, two threads took the cores SIPp needed and, at twice the clean
 * rate, collapsed where one thread held (docs/performance.md).
 */
function standaloneThreads(env: Environment): 1 | 2 {
  return new EnvReader(env).oneOf('SIPEDGE_THREADS', ['1', '2'] as const, '1') === '2' ? 2 : 1;
}

/**
 * Starts a planned role: the worker first, then the edge. Each logs a line once it is ready
 * (`worker started`, `edge started`), and `all` then `sipedge standalone: ready` (in memory) or
 * `sipedge all: ready` (on Redis and NATS) with a hint for a first call. Telemetry (traces,
 * edge and worker metrics) is started first and flushed last.
 */
export async function startRole(plan: RolePlan, logger: Logger): Promise<Stop> {
  // OpenTelemetry from the OTEL_* variables (off without an exporter endpoint); first, so that the
  // worker's and the edge's instruments bind to its meter provider.
  const stopTelemetry = await startTelemetry({ serviceName: plan.role === 'all' ? 'sipedge' : `sipedge-${plan.role}` });
  const adapters =
    plan.connections === 'memory' ? memoryAdapters(logger) : await sharedAdapters(plan.connections, logger);
  const stops: Stop[] = [];
  if (plan.randomFleetSecret === true) {
    logger.warn(
      'SIPEDGE_FLEET_SECRET is not set: Record-Routes are signed with a random secret of this process, so dialogs do not outlive it',
    );
  }
  let workerBacklogMs: (() => number) | undefined;
  if (plan.workerThread !== undefined) {
    const thread = await startWorkerThread(plan.workerThread.env, adapters, logger);
    workerBacklogMs = thread.backlogMs;
    stops.push(thread.stop);
  } else if (plan.worker !== undefined) {
    stops.push((await startWorker(plan.worker, adapters, logger)).stop);
  }
  if (plan.edge !== undefined) {
    const { edge, stop } = await startEdge(plan.edge, adapters, logger, workerBacklogMs);
    stops.unshift(stop);
    if (plan.worker !== undefined) {
      const { host, port } = plan.worker.proxy.advertised;
      logger.info(
        {
          sip: edge.listening(),
          domains: [...plan.worker.proxy.domains],
          firstCall: `register two SIP phones as <sip:alice@${host}> and <sip:bob@${host}> with proxy ${host}:${port}, then call sip:bob@${host}`,
        },
        plan.connections === 'memory' ? 'sipedge standalone: ready' : 'sipedge all: ready',
      );
    }
  }
  return async () => {
    for (const stop of stops) await stop();
    await adapters.stores.close();
    await stopTelemetry();
  };
}

/**
 * NATS and Redis, or `memory` for `all` with neither set (no silent fallback with one). Redis is one
 * server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER, seed nodes) or a master group watched by
 * Sentinels (REDIS_SENTINELS and REDIS_SENTINEL_MASTER): exactly one of them.
 */
function connectionsOf(role: Role, env: Environment): RolePlan['connections'] {
  const reader = new EnvReader(env);
  const natsUrl = reader.string('NATS_URL');
  const redisVariables = REDIS_VARIABLES.filter((name) => reader.string(name) !== undefined);
  if (role === 'all' && natsUrl === undefined && redisVariables.length === 0) return 'memory';
  const why = role === 'all' ? ' (with one of Redis and NATS set, both are needed; neither runs in memory)' : '';
  if (redisVariables.length > 1) {
    throw ConfigError.of(redisVariables[1]!, `set only one of ${REDIS_VARIABLES.join(', ')}`);
  }
  return {
    natsUrl: reader.required('NATS_URL', `nats://host:port${why}`),
    redis: redisOf(reader, why),
    timerShards: reader.int('SIPEDGE_TIMER_SHARDS', 1, 1),
  };
}

const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_CLUSTER', 'REDIS_SENTINELS'] as const;

function redisOf(reader: EnvReader, why: string): RedisConnection {
  const nodes = (name: string) => reader.endpoints(name, []).map(({ address, port }) => ({ host: address, port }));
  if (reader.string('REDIS_CLUSTER') !== undefined) {
    const cluster = nodes('REDIS_CLUSTER');
    if (cluster.length === 0) throw ConfigError.of('REDIS_CLUSTER', 'expected host:port[,host:port…]');
    return { cluster };
  }
  if (reader.string('REDIS_SENTINELS') !== undefined) {
    const sentinels = nodes('REDIS_SENTINELS');
    if (sentinels.length === 0) throw ConfigError.of('REDIS_SENTINELS', 'expected host:port[,host:port…]');
    return { sentinels, name: reader.string('REDIS_SENTINEL_MASTER') ?? 'mymaster' };
  }
  return {
    url: reader.required('REDIS_URL', `redis://host:port, or REDIS_CLUSTER or REDIS_SENTINELS${why}`),
  };
}

/** What an edge and a worker run on. */
export interface Adapters {
  bus(name: string): Promise<Bus>;
  stores: Stores;
  timers(): TimerService;
  /** Counts the hand-offs the worker takes (a standalone worker thread's, for its edge: thread-handoffs.ts). */
  handoffTaken?: () => void;
  /**
   * Standalone mode: the edge and the worker of this process pass each other messages by a call
   * (`LocalLink`), parsed once and without envelopes; the bus still carries every other subject.
   */
  link?: LocalLink;
}

function memoryAdapters(logger: Logger): Adapters {
  const hub = new MemoryBusHub();
  const timerHub = new MemoryTimerHub();
  return {
    bus: async () => hub.connect({ logger }),
    stores: createMemoryStores(),
    timers: () => new MemoryTimers({ hub: timerHub, logger }),
    link: new LocalLink(),
  };
}

async function sharedAdapters(connections: SharedConnections, logger: Logger): Promise<Adapters> {
  const { redis } = connections;
  const stores = await createRedisStores(redis, logger);
  return {
    bus: (name) => connectNatsBus({ servers: connections.natsUrl, name, logger }),
    stores,
    timers: () =>
      createBullmqTimers({
        redis: 'url' in redis ? redis.url : redis,
        shards: connections.timerShards,
        logger,
      }),
  };
}

/** A started worker and how to stop it. */
export interface RunningWorker {
  worker: Worker;
  stop: Stop;
}

export async function startWorker(config: WorkerEnvConfig, adapters: Adapters, logger: Logger): Promise<RunningWorker> {
  const bus = await adapters.bus(config.workerId);
  const worker = createWorker(config, {
    bus,
    stores: adapters.stores,
    timers: adapters.timers(),
    logger,
    ...(adapters.handoffTaken === undefined ? {} : { handoffTaken: adapters.handoffTaken }),
    ...(adapters.link === undefined ? {} : { link: adapters.link }),
  });
  await worker.start();
  const ops =
    config.http === undefined
      ? undefined
      : await startWorkerOpsServer({ endpoint: config.http, metrics: worker.metrics.registry, logger });
  logger.info(
    {
      workerId: config.workerId,
      domains: [...config.proxy.domains],
      advertised: config.proxy.advertised,
      ...(ops === undefined ? {} : { http: ops.address }),
    },
    'worker started',
  );
  return {
    worker,
    stop: async () => {
      await ops?.close();
      await worker.stop();
      await bus.close();
    },
  };
}

async function startEdge(
  config: EdgeConfig,
  adapters: Adapters,
  logger: Logger,
  workerBacklogMs: (() => number) | undefined,
): Promise<{ edge: Edge; stop: Stop }> {
  const bus = await adapters.bus(`edge-${config.edgeId}`);
  const { connections, edges, abuse, locations, dialogs, captures } = adapters.stores;
  const edge = new Edge(config, {
    bus,
    connections,
    edges,
    dialogs,
    captures,
    abuse,
    locations,
    logger,
    ...(workerBacklogMs === undefined ? {} : { workerBacklogMs }),
    ...(adapters.link === undefined ? {} : { link: adapters.link }),
  });
  await edge.start();
  logger.info({ edgeId: config.edgeId, sip: edge.listening(), http: edge.httpAddress }, 'edge started');
  return {
    edge,
    stop: async () => {
      await edge.drain();
      await edge.stop();
      await bus.close();
    },
  };
}
