/**
 * The edge process: `node services/edge/dist/main.js` (or `tsx --conditions=development
 * services/edge/src/main.ts`). Settings from environment variables (README of this service);
 * NATS_URL and REDIS_URL name the bus and the store. SIGTERM drains, then exits 0.
 */
import { connectNatsBus } from '@sipedge/bus';
import { EnvReader, runMain, stopOnSignals } from '@sipedge/config';
import { createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { Edge } from './edge.js';
import { edgeConfigFromEnv } from './env.js';

const logger = createLogger({ name: 'edge' });

async function main(): Promise<void> {
  const config = edgeConfigFromEnv(process.env);
  const env = new EnvReader(process.env);
  const natsUrl = env.required('NATS_URL', 'nats://host:port');
  const redisUrl = env.required('REDIS_URL', 'redis://host:port');
  const bus = await connectNatsBus({ servers: natsUrl, name: `edge-${config.edgeId}`, logger });
  const stores = await createRedisStores({ url: redisUrl }, logger);
  const edge = new Edge(config, { bus, connections: stores.connections, edges: stores.edges, logger });
  await edge.start();
  stopOnSignals(logger, async () => {
    await edge.drain();
    await edge.stop();
    await bus.close();
    await stores.close();
  });
}

runMain(logger, 'edge', main);
