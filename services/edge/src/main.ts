/**
 * The edge process: `node services/edge/dist/main.js` (or `tsx --conditions=development
 * services/edge/src/main.ts`). Settings from environment variables (README of this service);
 * NATS_URL and REDIS_URL name the bus and the store. SIGTERM drains, then exits 0.
 */
import { connectNatsBus } from '@sipedge/bus';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { Edge } from './edge.js';
import { ConfigError, edgeConfigFromEnv } from './env.js';

const logger = createLogger({ name: 'edge' });

async function main(): Promise<void> {
  const config = edgeConfigFromEnv(process.env);
  const natsUrl = process.env.NATS_URL;
  const redisUrl = process.env.REDIS_URL;
  if (natsUrl === undefined) throw new ConfigError('NATS_URL: expected nats://host:port');
  if (redisUrl === undefined) throw new ConfigError('REDIS_URL: expected redis://host:port');
  const bus = await connectNatsBus({ servers: natsUrl, name: `edge-${config.edgeId}`, logger });
  const stores = await createRedisStores({ url: redisUrl }, logger);
  const edge = new Edge(config, { bus, connections: stores.connections, edges: stores.edges, logger });
  await edge.start();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    await edge.drain();
    await edge.stop();
    await bus.close();
    await stores.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  logger.fatal(
    { err: (error as Error).message },
    error instanceof ConfigError ? 'bad configuration' : 'edge failed to start',
  );
  process.exit(1);
});
