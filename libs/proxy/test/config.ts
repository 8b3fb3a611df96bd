import type { ProxyConfig } from '../src/index.js';

/** The proxy the unit tests run as: `edge.example.com` / 192.0.2.10, serving `example.com`. */
export const TEST_CONFIG: ProxyConfig = {
  advertised: { host: 'edge.example.com', port: 5060, tlsPort: 5061 },
  selfHosts: new Set(['edge.example.com', '192.0.2.10']),
  selfPorts: new Set([5060, 5061]),
  domains: new Set(['example.com']),
  supported: [],
  recordRoute: true,
  udpMtu: 1300,
};
