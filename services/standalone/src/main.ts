/**
 * Standalone mode (`npm start`): one edge and one worker in one process on the in-memory twins of
 * the store, bus and timers — no Redis, NATS or Docker. The same code paths as the distributed
 * deployment above the adapters; nothing survives a restart. Settings are the edge's and the
 * worker's environment variables (services/edge/README.md, services/worker/README.md).
 */
import { MemoryBusHub } from '@sipedge/bus';
import { runMain, stopOnSignals } from '@sipedge/config';
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
  stopOnSignals(logger, async () => {
    await edge.drain();
    await edge.stop();
    await worker.stop();
    await stores.close();
  });
}

runMain(logger, 'sipedge', main);
