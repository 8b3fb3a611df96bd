import type { Endpoint } from './transports/types.js';

/** Everything an edge needs to run. Loading it from the environment / YAML is libs/config's job. */
export interface EdgeConfig {
  /** Unique among live edges; a NATS subject token. */
  edgeId: string;
  udp: Endpoint[];
  tcp: Endpoint[];
  tls?: { listen: Endpoint[]; key: string; cert: string; ca?: string };
  /** The address the fleet is reached at: Via sent-by of stateless responses and our own Via check. */
  advertised: { host: string; port: number };
  /** Other names and addresses that mean "this edge" in a Request-URI (OPTIONS to self, F1). */
  aliases: string[];
  maxMessageSize: number;
  idleTimeoutMs: number;
  maxConnectionsPerSource: number;
  rateLimit: {
    ratePerSecond: number;
    burst: number;
    /** CIDRs never limited (load generators, trunks, other proxies). */
    trusted: string[];
    /** Over the limit: answer 503 with Retry-After, or drop silently. */
    action: 'reject' | 'drop';
    retryAfterSeconds: number;
    maxTrackedSources: number;
  };
  /** Sources (CIDRs) whose traffic is dropped unread. */
  denyList: string[];
  handoff: {
    /** TCP/TLS: how long to wait for a worker's acknowledgement before trying another worker. */
    ackTimeoutMs: number;
    /** TCP/TLS: workers tried before the message is given up (and a request answered 503). */
    attempts: number;
  };
  /** TTL of this edge's entries in the connection directory; refreshed at a third of it. */
  flowTtlMs: number;
  /** TTL of this edge's heartbeat in the live-edge registry; refreshed at a third of it. */
  heartbeatTtlMs: number;
  /** SIGTERM: how long in-flight work may take before the edge exits anyway. */
  drainDeadlineMs: number;
  /** T1 (ms): an initial request seen within 64·T1 counts as a retransmission while draining. */
  t1: number;
  http: Endpoint;
}

export const DEFAULT_EDGE_CONFIG: Omit<EdgeConfig, 'edgeId'> = {
  udp: [
    { address: '0.0.0.0', port: 5060 },
    { address: '::', port: 5060 },
  ],
  tcp: [
    { address: '0.0.0.0', port: 5060 },
    { address: '::', port: 5060 },
  ],
  advertised: { host: '127.0.0.1', port: 5060 },
  aliases: [],
  maxMessageSize: 65535,
  idleTimeoutMs: 300_000,
  maxConnectionsPerSource: 256,
  rateLimit: {
    ratePerSecond: 500,
    burst: 1000,
    trusted: ['127.0.0.0/8', '::1/128'],
    action: 'reject',
    retryAfterSeconds: 5,
    maxTrackedSources: 100_000,
  },
  denyList: [],
  handoff: { ackTimeoutMs: 500, attempts: 3 },
  flowTtlMs: 90_000,
  heartbeatTtlMs: 3_000,
  drainDeadlineMs: 32_000,
  t1: 500,
  http: { address: '0.0.0.0', port: 8080 },
};
