/**
 * Standalone mode (`npm start`): one edge and one worker in one process on the in-memory twins of
 * the store, bus and timers — no Redis, NATS or Docker. The same code paths as the distributed
 * deployment above the adapters; nothing survives a restart. Settings are the edge's and the
 * worker's environment variables (services/edge/README.md, services/worker/README.md).
 */
import { MemoryBusHub } from '@sipedge/bus';
import { ConfigError } from '@sipedge/config';
import { Edge, edgeConfigFromEnv } from '@sipedge/edge';
import { createMemoryStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers } from '@sipedge/timers';
import { createWorker, workerConfigFromEnv } from '@sipedge/worker';

const logger = createLogger({ name: 'sipedge' });

async function main(): Promise<void> {
  const environment = { SIPEDGE_EDGE_ID: 'standalone', SIPEDGE_WORKER_ID: 'standalone', ...process.env };
  const edgeConfig = edgeConfigFromEnv(environment);
  const workerConfig = workerConfigFromEnv(environment);
  const stores = createMemoryStores();
  const hub = new MemoryBusHub();
  const worker = createWorker(workerConfig, {
    bus: hub.connect({ logger }),
    stores,
    timers: new MemoryTimers({ hub: new MemoryTimerHub(), logger }),
    logger,
  });
  await worker.start();
  const edgeBus = hub.connect({ logger });
  const edge = new Edge(edgeConfig, { bus: edgeBus, connections: stores.connections, edges: stores.edges, logger });
  await edge.start();
  const { host, port } = workerConfig.proxy.advertised;
  logger.info(
    {
      sip: edge.listening(),
      domains: [...workerConfig.proxy.domains],
      firstCall: `register two SIP phones as <sip:alice@${host}> and <sip:bob@${host}> with proxy ${host}:${port}, then call sip:bob@${host}`,
    },
    'sipedge standalone: ready',
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    await edge.drain();
    await edge.stop();
    await worker.stop();
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
    error instanceof ConfigError ? 'bad configuration' : 'sipedge failed to start',
  );
  process.exit(1);
});
