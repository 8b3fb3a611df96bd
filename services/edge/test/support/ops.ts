import type { HttpRoute } from '@sipedge/net';
import { createLogger } from '@sipedge/telemetry';
import { Registry } from 'prom-client';
import { type OpsServer, startOpsServer } from '../../src/http.js';

const logger = createLogger({ name: 'ops-test', level: 'silent' });

/**
 * An ops server on a free loopback port serving `routes`, ready unless `draining()` says otherwise;
 * its base URL with it.
 */
export async function startTestOpsServer(
  routes: Record<string, HttpRoute>,
  draining: () => boolean = () => false,
): Promise<{ server: OpsServer; base: string }> {
  const server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    readiness: () => ({ sockets: true, nats: true, redis: true, draining: draining() }),
    metrics: new Registry(),
    logger,
    routes,
  });
  return { server, base: `http://${server.address.address}:${server.address.port}` };
}

/** A ban list that holds no bans, for admin API tests about something else. */
export const NO_BANS = { list: async () => [], ban: async () => undefined, lift: async () => false };
