import { type Endpoint, type HttpServer, sendText, startHttpServer } from '@sipedge/net';
import type { Logger } from '@sipedge/telemetry';
import type { Registry } from 'prom-client';

export type WorkerOpsServer = HttpServer;

/**
 * The worker's operations HTTP server (`SIPEDGE_WORKER_HTTP`): `/metrics` (Prometheus, the
 * worker's registry) and `/healthz` (the process is up). No `/readyz`: a worker takes its work from
 * NATS, nothing routes traffic to it by readiness.
 */
export function startWorkerOpsServer(options: {
  endpoint: Endpoint;
  metrics: Registry;
  logger: Logger;
}): Promise<WorkerOpsServer> {
  const { endpoint, metrics, logger } = options;
  return startHttpServer({
    host: endpoint.address,
    port: endpoint.port,
    logger,
    name: 'worker ops server',
    routes: {
      '/healthz': (res) => sendText(res, 200, 'text/plain; charset=utf-8', 'ok\n'),
      '/metrics': async (res) => sendText(res, 200, metrics.contentType, await metrics.metrics()),
    },
  });
}
