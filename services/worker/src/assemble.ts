import { AuthFailures, Bans } from '@sipedge/abuse';
import { TableUserDirectory, firstFound } from '@sipedge/auth';
import type { Bus } from '@sipedge/bus';
import type { LocalLink } from '@sipedge/handoff';
import { CidrSet } from '@sipedge/net';
import { nodeDns } from '@sipedge/proxy';
import type { Stores } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { TimerService } from '@sipedge/timers';
import { finishedRecordKeepMs } from './call-store.js';
import type { WorkerEnvConfig } from './env.js';
import { resolverFor } from './resolve.js';
import { roundRobinCounter } from './routing.js';
import { Worker } from './worker.js';

/** The adapters a worker runs on: Redis, NATS and BullMQ in production, the memory twins standalone. */
export interface WorkerAdapters {
  bus: Bus;
  stores: Stores;
  timers: TimerService;
  logger: Logger;
  /** Counts the hand-offs the worker takes (`WorkerDeps.handoffTaken`: a standalone worker thread's). */
  handoffTaken?: () => void;
  /** Standalone mode: the edge of this process, reached by a call (`WorkerDeps.link`). */
  link?: LocalLink;
}

/** A worker wired from its configuration (`workerConfigFromEnv`) to the given adapters. */
export function createWorker(
  config: WorkerEnvConfig,
  { bus, stores, timers, logger, handoffTaken, link }: WorkerAdapters,
): Worker {
  const trusted = new CidrSet(config.trusted, 'SIPEDGE_TRUSTED');
  const routeTokens = config.fleetSecret;
  if (routeTokens === undefined) throw new TypeError('createWorker: the worker configuration has no fleet secret');
  const { abuse } = config;
  const bans = new Bans(
    stores.abuse,
    bus,
    (a) => abuse.exempt.has(a),
    abuse.bans,
    logger.child({ component: 'abuse' }),
  );
  return new Worker(
    {
      proxy: config.proxy,
      routeTokens,
      timers: config.timers,
      timerC: config.timerC,
      deadlineTakeoverMs: config.deadlineTakeoverMs,
      stateless: config.stateless,
      blacklist: { ttlMs: config.blacklistTtlMs },
      probe: config.probe,
      overload: config.overload,
      finishedRecordKeepMs: finishedRecordKeepMs(config.handoff),
      deliveryTimeoutMs: 2000,
    },
    {
      bus,
      records: stores.records,
      dialogs: stores.dialogs,
      edges: stores.edges,
      timers,
      logger,
      bans,
      ...(handoffTaken === undefined ? {} : { handoffTaken }),
      ...(link === undefined ? {} : { link }),
      tu: {
        proxy: config.proxy,
        locations: stores.locations,
        isTrusted: (address) => trusted.has(address),
        routeTokens,
        topologyHiding: config.topologyHiding,
        registrar: config.registrar,
        resolve: resolverFor(nodeDns()),
        staticRoutes: config.routing.staticRoutes,
        dispatchers: config.routing.dispatchers,
        dispatchCounter: roundRobinCounter(),
        ...(config.auth === undefined
          ? {}
          : {
              auth: {
                realm: config.auth.realm,
                users: config.auth.userTable
                  ? firstFound(
                      config.auth.users,
                      new TableUserDirectory(stores.users, (username, realm, error) =>
                        logger.warn({ username, realm, err: error }, 'invalid user table entry: user refused'),
                      ),
                    )
                  : config.auth.users,
                nonceStore: stores.nonces,
                hmac: { secret: config.auth.secret },
                algorithms: config.auth.algorithms,
                nonceTtlMs: 300_000,
                register: config.auth.register,
                proxy: config.auth.proxy,
                bans,
                failures: new AuthFailures(stores.abuse, bans, abuse.authFailures, logger),
              },
            }),
      },
    },
  );
}
