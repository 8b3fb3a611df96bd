import type { MemoryBusHub } from '@sipedge/bus';
import { type Stores, createMemoryStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { DEFAULT_EDGE_CONFIG, Edge, type EdgeConfig, type EdgeDeps } from '../../src/index.js';

const logger = createLogger({ name: 'edge-test', level: 'silent' });

/**
 * A started edge on `hub` with in-memory stores: UDP only, on a free loopback port, its ops server
 * on another; `config` and `deps` add to or replace that.
 */
export async function startTestEdge(
  hub: MemoryBusHub,
  config: Partial<EdgeConfig> = {},
  deps: Partial<EdgeDeps> = {},
): Promise<{ edge: Edge; stores: Stores }> {
  const stores = createMemoryStores();
  const edge = new Edge(
    {
      ...DEFAULT_EDGE_CONFIG,
      edgeId: 'e1',
      udp: [{ address: '127.0.0.1', port: 0 }],
      tcp: [],
      advertised: { host: '127.0.0.1', port: 5060 },
      http: { address: '127.0.0.1', port: 0 },
      ...config,
    },
    { bus: hub.connect({ logger }), ...stores, logger, ...deps },
  );
  await edge.start();
  return { edge, stores };
}
