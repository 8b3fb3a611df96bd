import type { Logger } from '@sipedge/telemetry';
import type { ClientCertMode, EdgeTlsConfig } from './config.js';
import {
  type StreamSockets,
  type TlsSettings,
  reloadTlsFilesOnChange,
  tlsProtocol,
  tlsSockets,
} from './transports/index.js';

/** How each client certificate mode asks (Node's `requestCert` / `rejectUnauthorized`). */
const CLIENT_CERT: Record<ClientCertMode, TlsSettings['server']> = {
  off: { requestCert: false },
  request: { requestCert: true, rejectUnauthorized: false },
  require: { requestCert: true, rejectUnauthorized: true },
};

/**
 * The sockets of the edge's TLS transport: its configuration as TlsSettings and, when the
 * credentials came from files, those files watched and re-read on change (stopped when the
 * transport closes).
 */
export function edgeTlsSockets(config: EdgeTlsConfig, logger: Logger): StreamSockets {
  const { listen: _listen, clientCert = 'off', reload, ...settings } = config;
  const sockets = tlsSockets({ ...settings, server: CLIENT_CERT[clientCert] }, logger);
  if (reload === undefined) return sockets;
  const stopWatching = reloadTlsFilesOnChange({
    ...reload,
    protocol: tlsProtocol(settings),
    current: settings,
    apply: (credentials) => sockets.update(credentials),
    logger,
  });
  return { ...sockets, close: stopWatching };
}
