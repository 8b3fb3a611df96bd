/**
 * The worker process: `node --conditions=development --import tsx services/worker/src/main.ts`.
 * Settings from environment variables (services/worker/README.md); NATS_URL and REDIS_URL name
 * the bus and the store. SIGTERM stops taking messages; its timers are fired by the other workers.
 */
import { TableUserDirectory, firstFound } from '@sipedge/auth';
import { connectNatsBus } from '@sipedge/bus';
import { ConfigError } from '@sipedge/config';
import { CidrSet } from '@sipedge/net';
import { nodeDns } from '@sipedge/proxy';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { createBullmqTimers } from '@sipedge/timers';
import { workerConfigFromEnv } from './env.js';
import { resolverFor } from './resolve.js';
import { roundRobinCounter } from './routing.js';
import { Worker } from './worker.js';

const logger = createLogger({ name: 'worker' });

async function main(): Promise<void> {
  const config = workerConfigFromEnv(process.env);
  const natsUrl = process.env.NATS_URL;
  const redisUrl = process.env.REDIS_URL;
  if (natsUrl === undefined) throw new ConfigError('NATS_URL: expected nats://host:port');
  if (redisUrl === undefined) throw new ConfigError('REDIS_URL: expected redis://host:port');
  const trusted = new CidrSet(config.trusted, 'SIPEDGE_TRUSTED');
  const bus = await connectNatsBus({ servers: natsUrl, name: config.workerId, logger });
  const stores = await createRedisStores({ url: redisUrl }, logger);
  const timers = createBullmqTimers({ redis: redisUrl, logger });
  const worker = new Worker(
    {
      proxy: config.proxy,
      timers: config.timers,
      timerC: config.timerC,
      stateless: config.stateless,
      blacklist: { ttlMs: config.blacklistTtlMs },
      probe: config.probe,
      recordTtlMs: 600_000,
      deliveryTimeoutMs: 2000,
    },
    {
      bus,
      records: stores.records,
      edges: stores.edges,
      timers,
      logger,
      tu: {
        proxy: config.proxy,
        locations: stores.locations,
        isTrusted: (address) => trusted.has(address),
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
                        logger.warn({ username, realm, err: error.message }, 'invalid user table entry: user refused'),
                      ),
                    )
                  : config.auth.users,
                nonceStore: stores.nonces,
                hmac: { secret: config.auth.secret },
                algorithms: config.auth.algorithms,
                nonceTtlMs: 300_000,
                register: config.auth.register,
                proxy: config.auth.proxy,
              },
            }),
      },
    },
  );
  await worker.start();
  logger.info(
    { workerId: config.workerId, domains: [...config.proxy.domains], advertised: config.proxy.advertised },
    'worker started',
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await worker.stop();
    await bus.close();
    await stores.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  logger.fatal(
    { err: (error as Error).message },
    error instanceof ConfigError ? 'bad configuration' : 'worker failed to start',
  );
  process.exit(1);
});
