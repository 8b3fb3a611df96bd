/**
 * The worker process: `node --conditions=development --import tsx services/worker/src/main.ts`.
 * Settings from environment variables (services/worker/README.md); NATS_URL and REDIS_URL name
 * the bus and the store. SIGTERM stops taking messages; its timers are fired by the other workers.
 */
import { connectNatsBus } from '@sipedge/bus';
import { EnvReader, runMain, stopOnSignals } from '@sipedge/config';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { createBullmqTimers } from '@sipedge/timers';
import { createWorker } from './assemble.js';
import { workerConfigFromEnv } from './env.js';

const logger = createLogger({ name: 'worker' });

async function main(): Promise<void> {
  const config = workerConfigFromEnv(process.env);
  const env = new EnvReader(process.env);
  const natsUrl = env.required('NATS_URL', 'nats://host:port');
  const redisUrl = env.required('REDIS_URL', 'redis://host:port');
  const bus = await connectNatsBus({ servers: natsUrl, name: config.workerId, logger });
  const stores = await createRedisStores({ url: redisUrl }, logger);
  const timers = createBullmqTimers({ redis: redisUrl, logger });
  const worker = createWorker(config, { bus, stores, timers, logger });
  await worker.start();
  logger.info(
    { workerId: config.workerId, domains: [...config.proxy.domains], advertised: config.proxy.advertised },
    'worker started',
  );
  stopOnSignals(logger, async () => {
    await worker.stop();
    await bus.close();
    await stores.close();
  });
}

runMain(logger, 'worker', main);
