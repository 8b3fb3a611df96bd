import { type AbuseSettings, abuseSettingsFromEnv } from '@sipedge/abuse';
import {
  DEFAULT_HANDOFF_RETRY,
  DEFAULT_OVERLOAD,
  type HandoffRetrySettings,
  type OverloadSettings,
} from '@sipedge/handoff';
import { type Advertised, type SelfConfig, fleetSelf } from '@sipedge/proxy';
import type { CallFlowSettings } from './callflow/recorder.js';
import type { HepSettings } from './hep/exporter.js';
import type { KeepaliveSettings } from './nat-keepalive.js';
import type { TlsCredentials, TlsFiles } from './transports/index.js';
import type { Endpoint } from './transports/types.js';

/** Everything an edge needs to run. Loading it from the environment / YAML is libs/config's job. */
export interface EdgeConfig {
  /** Unique among live edges; a NATS subject token. */
  edgeId: string;
  udp: Endpoint[];
  tcp: Endpoint[];
  tls?: EdgeTlsConfig;
  /** SIP over WebSocket (RFC 7118): WS and WSS listeners (WSS serves `tls`'s credentials). */
  websocket: EdgeWebSocketConfig;
  /**
   * The address the fleet is reached at: Via sent-by of stateless responses and our own Via check;
   * `ipv6Host`, its IPv6 address, faces IPv6 peers (RFC 5658).
   */
  advertised: Advertised;
  /** Other names and addresses that mean this proxy (`fleetSelf`): in a Via or a Request-URI. */
  aliases: string[];
  /** More ports that mean this proxy (`SIPEDGE_SELF_PORTS`), besides the advertised and listen ports. */
  selfPorts: number[];
  maxMessageSize: number;
  idleTimeoutMs: number;
  /** TCP/TLS: once a message's first byte has arrived, the whole message must arrive within this long (0: never). */
  messageTimeoutMs: number;
  maxConnectionsPerSource: number;
  /**
   * TCP/TLS connections at once in this process, accepted and outgoing, TCP and TLS together; the
   * process's open-file limit must be above it.
   */
  maxConnections: number;
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
  /**
   * Overload control: as the standing wait of the UDP receive queue grows past `maxDelayMs`, new
   * initial requests are refused at once with 503 and Retry-After (@sipedge/handoff overload.ts).
   */
  overload: OverloadSettings;
  /** Sources (CIDRs) whose traffic is dropped unread. */
  denyList: string[];
  /** Fleet-wide bans (pike, failed authentications) and what a banned source gets. */
  abuse: AbuseSettings;
  /** The admin API's bearer token (`/admin/*` on the ops port); no admin API without one. */
  adminToken?: string;
  /** Keep-alives to the UDP contacts behind a NAT that registered through this edge. */
  natKeepalive: KeepaliveSettings;
  /**
   * HEP v3 export of every SIP message this edge receives and sends to a capture server (Homer);
   * off when absent.
   */
  hep?: HepSettings;
  /** Messages recorded for the call-flow page (`capture.*`); undefined when off (sampling 0). */
  callFlow?: CallFlowSettings;
  /** TCP/TLS/WebSocket: how long to wait for a worker's acknowledgement, and how many workers to try before giving up (503). */
  handoff: HandoffRetrySettings;
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

/** The WebSocket listeners and what they accept. */
export interface EdgeWebSocketConfig {
  ws: Endpoint[];
  wss: Endpoint[];
  /** Origins browsers may connect from; empty: any (a handshake without Origin is not a browser's). */
  origins: string[];
  /** Proxies (CIDRs) whose `X-Forwarded-For` names the client. */
  trustedProxies: string[];
  /** WebSocket pings this often; a flow that misses one is closed (0: never). */
  pingIntervalMs: number;
}

/** Client certificates (mutual TLS): not asked for, asked for (a client may go without), or required. */
export type ClientCertMode = 'off' | 'request' | 'require';

/** The TLS listener: what it serves (read from files at start-up) and how it negotiates. */
export interface EdgeTlsConfig extends TlsCredentials {
  listen: Endpoint[];
  /** Lowest TLS version accepted and offered (default TLSv1.2; never 1.0 or 1.1, RFC 8996). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list; default Node's. */
  ciphers?: string;
  /**
   * Client certificates, verified against `ca` (default off). With `request` a client may send
   * none, but one it sends must verify; with `require` it must send one that verifies.
   */
  clientCert?: ClientCertMode;
  /** Re-read the credentials from these files when they change, polling every `intervalMs`. */
  reload?: { files: TlsFiles; intervalMs: number };
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
  selfPorts: [],
  websocket: { ws: [], wss: [], origins: [], trustedProxies: [], pingIntervalMs: 30_000 },
  maxMessageSize: 65535,
  idleTimeoutMs: 300_000,
  messageTimeoutMs: 10_000,
  maxConnectionsPerSource: 256,
  maxConnections: 5_000,
  rateLimit: {
    ratePerSecond: 500,
    burst: 1000,
    trusted: ['127.0.0.0/8', '::1/128'],
    action: 'reject',
    retryAfterSeconds: 5,
    maxTrackedSources: 100_000,
  },
  overload: DEFAULT_OVERLOAD,
  denyList: [],
  abuse: abuseSettingsFromEnv({}),
  natKeepalive: { mode: 'options', intervalMs: 25_000, misses: 3 },
  handoff: DEFAULT_HANDOFF_RETRY,
  flowTtlMs: 90_000,
  heartbeatTtlMs: 3_000,
  drainDeadlineMs: 32_000,
  t1: 500,
  http: { address: '0.0.0.0', port: 8080 },
};

/**
 * What "us" means to this edge in a Via or a Request-URI: the fleet's one definition (`fleetSelf`),
 * from the same settings the workers read (listen ports configured as 0 are added once bound).
 */
export function edgeSelf(config: Omit<EdgeConfig, 'edgeId'>): SelfConfig {
  const { advertised, aliases, selfPorts, udp, tcp, tls, websocket } = config;
  const listen = [...udp, ...tcp, ...(tls?.listen ?? []), ...websocket.ws, ...websocket.wss];
  return fleetSelf({ advertised, aliases, listen, ports: selfPorts });
}
