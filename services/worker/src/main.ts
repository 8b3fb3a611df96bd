/**
 * The worker process: `node --conditions=development --import tsx services/worker/src/main.ts`.
 * Settings from environment variables (services/worker/README.md); NATS_URL and REDIS_URL name
 * the bus and the store. SIGTERM stops taking messages; its timers are fired by the other workers.
 */
import { connectNatsBus } from '@sipedge/bus';
import { ConfigError } from '@sipedge/config';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { createBullmqTimers } from '@sipedge/timers';
import { createWorker } from './assemble.js';
import { workerConfigFromEnv } from './env.js';

const logger = createLogger({ name: 'worker' });

async function main(): Promise<void> {
  const config = workerConfigFromEnv(process.env);
  const natsUrl = process.env.NATS_URL;
  const redisUrl = process.env.REDIS_URL;
  if (natsUrl === undefined) throw new ConfigError('NATS_URL: expected nats://host:port');
  if (redisUrl === undefined) throw new ConfigError('REDIS_URL: expected redis://host:port');
  const bus = await connectNatsBus({ servers: natsUrl, name: config.workerId, logger });
  const stores = await createRedisStores({ url: redisUrl }, logger);
  const timers = createBullmqTimers({ redis: redisUrl, logger });
  const worker = createWorker(config, { bus, stores, timers, logger });
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
