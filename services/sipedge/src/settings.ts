/**
 * The one table of settings: each YAML key of a configuration file, the environment variable it
 * stands for, and the kind of YAML value it takes. The loader (`config-file.ts`) turns a file into
 * environment-style values with it; the edge's and the worker's environment readers then check them
 * as they check the environment. docs/configuration.md documents every row (a test holds it to that).
 */

/**
 * What a YAML value must look like; the environment readers check the content.
 *
 * - `string`: a scalar (a number is taken as written: `edge.id: 7` is "7")
 * - `int`: a number; `bool`: true or false
 * - `list`: a list of scalars (an environment variable's comma-separated list)
 * - `endpoints`: a list of `host:port` strings; `endpoint`: one `host:port`; `host-port`: `host[:port]`
 * - `ports`: a list of port numbers
 * - `users`: a list of `{ username, password }` maps
 * - `routing`: a list, one field of the inline routing JSON (`{ staticRoutes, dispatchers }`)
 */
export type SettingKind =
  'string' | 'int' | 'bool' | 'list' | 'endpoints' | 'endpoint' | 'host-port' | 'ports' | 'users' | 'routing';

export interface Setting {
  /** Dotted path in the YAML file. */
  key: string;
  /** The environment variable: it overrides the file. */
  env: string;
  kind: SettingKind;
}

export const SETTINGS: readonly Setting[] = [
  // SIP addresses (edge and worker)
  { key: 'sip.udp', env: 'SIPEDGE_UDP', kind: 'endpoints' },
  { key: 'sip.tcp', env: 'SIPEDGE_TCP', kind: 'endpoints' },
  { key: 'sip.tls.listen', env: 'SIPEDGE_TLS', kind: 'endpoints' },
  { key: 'sip.tls.keyFile', env: 'SIPEDGE_TLS_KEY_FILE', kind: 'string' },
  { key: 'sip.tls.certFile', env: 'SIPEDGE_TLS_CERT_FILE', kind: 'string' },
  { key: 'sip.tls.caFile', env: 'SIPEDGE_TLS_CA_FILE', kind: 'string' },
  { key: 'sip.tls.sniCerts', env: 'SIPEDGE_TLS_SNI_CERTS', kind: 'list' },
  { key: 'sip.tls.minVersion', env: 'SIPEDGE_TLS_MIN_VERSION', kind: 'string' },
  { key: 'sip.tls.ciphers', env: 'SIPEDGE_TLS_CIPHERS', kind: 'string' },
  { key: 'sip.tls.clientCert', env: 'SIPEDGE_TLS_CLIENT_CERT', kind: 'string' },
  { key: 'sip.tls.reloadIntervalMs', env: 'SIPEDGE_TLS_RELOAD_INTERVAL_MS', kind: 'int' },
  { key: 'sip.ws.listen', env: 'SIPEDGE_WS', kind: 'endpoints' },
  { key: 'sip.wss.listen', env: 'SIPEDGE_WSS', kind: 'endpoints' },
  { key: 'sip.ws.origins', env: 'SIPEDGE_WS_ORIGINS', kind: 'list' },
  { key: 'sip.ws.trustedProxies', env: 'SIPEDGE_WS_TRUSTED_PROXIES', kind: 'list' },
  { key: 'sip.ws.pingIntervalMs', env: 'SIPEDGE_WS_PING_INTERVAL_MS', kind: 'int' },
  { key: 'sip.advertised', env: 'SIPEDGE_ADVERTISED', kind: 'host-port' },
  { key: 'sip.advertisedTlsPort', env: 'SIPEDGE_ADVERTISED_TLS_PORT', kind: 'int' },
  { key: 'sip.advertisedWsPort', env: 'SIPEDGE_ADVERTISED_WS_PORT', kind: 'int' },
  { key: 'sip.advertisedWssPort', env: 'SIPEDGE_ADVERTISED_WSS_PORT', kind: 'int' },
  { key: 'sip.advertisedIpv6', env: 'SIPEDGE_ADVERTISED_IPV6', kind: 'string' },
  { key: 'sip.aliases', env: 'SIPEDGE_ALIASES', kind: 'list' },
  { key: 'sip.selfPorts', env: 'SIPEDGE_SELF_PORTS', kind: 'ports' },
  // the edge
  { key: 'edge.id', env: 'SIPEDGE_EDGE_ID', kind: 'string' },
  { key: 'edge.http', env: 'SIPEDGE_HTTP', kind: 'endpoint' },
  { key: 'edge.maxMessageSize', env: 'SIPEDGE_MAX_MESSAGE_SIZE', kind: 'int' },
  { key: 'edge.idleTimeoutMs', env: 'SIPEDGE_IDLE_TIMEOUT_MS', kind: 'int' },
  { key: 'edge.messageTimeoutMs', env: 'SIPEDGE_MESSAGE_TIMEOUT_MS', kind: 'int' },
  { key: 'edge.maxConnectionsPerSource', env: 'SIPEDGE_MAX_CONNECTIONS_PER_SOURCE', kind: 'int' },
  { key: 'edge.maxConnections', env: 'SIPEDGE_MAX_CONNECTIONS', kind: 'int' },
  { key: 'edge.rateLimit.perSecond', env: 'SIPEDGE_RATE_LIMIT_PER_SECOND', kind: 'int' },
  { key: 'edge.rateLimit.burst', env: 'SIPEDGE_RATE_LIMIT_BURST', kind: 'int' },
  { key: 'edge.rateLimit.trusted', env: 'SIPEDGE_RATE_LIMIT_TRUSTED', kind: 'list' },
  { key: 'edge.rateLimit.action', env: 'SIPEDGE_RATE_LIMIT_ACTION', kind: 'string' },
  { key: 'edge.deny', env: 'SIPEDGE_DENY', kind: 'list' },
  { key: 'edge.handoff.ackTimeoutMs', env: 'SIPEDGE_HANDOFF_ACK_TIMEOUT_MS', kind: 'int' },
  { key: 'edge.handoff.attempts', env: 'SIPEDGE_HANDOFF_ATTEMPTS', kind: 'int' },
  { key: 'edge.drainDeadlineMs', env: 'SIPEDGE_DRAIN_DEADLINE_MS', kind: 'int' },
  { key: 'overload.maxDelayMs', env: 'SIPEDGE_OVERLOAD_MAX_DELAY_MS', kind: 'int' },
  { key: 'overload.retryAfterSeconds', env: 'SIPEDGE_OVERLOAD_RETRY_AFTER', kind: 'int' },
  { key: 'nat.keepalive', env: 'SIPEDGE_NAT_KEEPALIVE', kind: 'string' },
  { key: 'nat.keepaliveIntervalMs', env: 'SIPEDGE_NAT_KEEPALIVE_INTERVAL_MS', kind: 'int' },
  { key: 'nat.keepaliveMisses', env: 'SIPEDGE_NAT_KEEPALIVE_MISSES', kind: 'int' },
  { key: 'hep.address', env: 'SIPEDGE_HEP_ADDRESS', kind: 'endpoint' },
  { key: 'hep.agentId', env: 'SIPEDGE_HEP_AGENT_ID', kind: 'int' },
  { key: 'hep.password', env: 'SIPEDGE_HEP_PASSWORD', kind: 'string' },
  { key: 'hep.sampling', env: 'SIPEDGE_HEP_SAMPLING', kind: 'int' },
  { key: 'capture.sampling', env: 'SIPEDGE_CAPTURE_SAMPLING', kind: 'int' },
  { key: 'capture.retentionS', env: 'SIPEDGE_CAPTURE_RETENTION_S', kind: 'int' },
  { key: 'capture.maxCalls', env: 'SIPEDGE_CAPTURE_MAX_CALLS', kind: 'int' },
  { key: 'capture.maxMessagesPerCall', env: 'SIPEDGE_CAPTURE_MAX_MESSAGES', kind: 'int' },
  // the worker: proxy, timers, routing, registrar, authentication
  { key: 'worker.id', env: 'SIPEDGE_WORKER_ID', kind: 'string' },
  { key: 'worker.http', env: 'SIPEDGE_WORKER_HTTP', kind: 'endpoint' },
  { key: 'proxy.domains', env: 'SIPEDGE_DOMAINS', kind: 'list' },
  { key: 'proxy.trusted', env: 'SIPEDGE_TRUSTED', kind: 'list' },
  { key: 'proxy.supported', env: 'SIPEDGE_SUPPORTED', kind: 'list' },
  { key: 'proxy.recordRoute', env: 'SIPEDGE_RECORD_ROUTE', kind: 'bool' },
  { key: 'fleet.secret', env: 'SIPEDGE_FLEET_SECRET', kind: 'string' },
  { key: 'fleet.previousSecrets', env: 'SIPEDGE_FLEET_SECRET_PREVIOUS', kind: 'list' },
  { key: 'proxy.udpMtu', env: 'SIPEDGE_UDP_MTU', kind: 'int' },
  { key: 'proxy.stateless', env: 'SIPEDGE_STATELESS', kind: 'bool' },
  { key: 'proxy.topologyHiding', env: 'SIPEDGE_TOPOLOGY_HIDING', kind: 'string' },
  { key: 'proxy.blacklistTtlMs', env: 'SIPEDGE_BLACKLIST_TTL_MS', kind: 'int' },
  { key: 'timers.t1Ms', env: 'SIPEDGE_T1_MS', kind: 'int' },
  { key: 'timers.t2Ms', env: 'SIPEDGE_T2_MS', kind: 'int' },
  { key: 'timers.t4Ms', env: 'SIPEDGE_T4_MS', kind: 'int' },
  { key: 'timers.timerC', env: 'SIPEDGE_TIMER_C', kind: 'bool' },
  { key: 'timers.timerCMs', env: 'SIPEDGE_TIMER_C_MS', kind: 'int' },
  { key: 'timers.deadlineTakeoverMs', env: 'SIPEDGE_DEADLINE_TAKEOVER_MS', kind: 'int' },
  { key: 'routing.file', env: 'SIPEDGE_ROUTING_FILE', kind: 'string' },
  { key: 'routing.staticRoutes', env: 'SIPEDGE_ROUTING', kind: 'routing' },
  { key: 'routing.dispatchers', env: 'SIPEDGE_ROUTING', kind: 'routing' },
  { key: 'routing.probe.intervalMs', env: 'SIPEDGE_PROBE_INTERVAL_MS', kind: 'int' },
  { key: 'routing.probe.timeoutMs', env: 'SIPEDGE_PROBE_TIMEOUT_MS', kind: 'int' },
  { key: 'routing.probe.holdDownMs', env: 'SIPEDGE_PROBE_HOLD_DOWN_MS', kind: 'int' },
  { key: 'registrar.minExpires', env: 'SIPEDGE_MIN_EXPIRES', kind: 'int' },
  { key: 'registrar.maxExpires', env: 'SIPEDGE_MAX_EXPIRES', kind: 'int' },
  { key: 'registrar.defaultExpires', env: 'SIPEDGE_DEFAULT_EXPIRES', kind: 'int' },
  { key: 'registrar.maxContacts', env: 'SIPEDGE_MAX_CONTACTS', kind: 'int' },
  { key: 'auth.realm', env: 'SIPEDGE_AUTH_REALM', kind: 'string' },
  { key: 'auth.secret', env: 'SIPEDGE_AUTH_SECRET', kind: 'string' },
  { key: 'auth.users', env: 'SIPEDGE_AUTH_USERS', kind: 'users' },
  { key: 'auth.algorithms', env: 'SIPEDGE_AUTH_ALGORITHMS', kind: 'list' },
  { key: 'auth.userTable', env: 'SIPEDGE_AUTH_USER_TABLE', kind: 'bool' },
  { key: 'auth.register', env: 'SIPEDGE_AUTH_REGISTER', kind: 'bool' },
  { key: 'auth.proxy', env: 'SIPEDGE_AUTH_PROXY', kind: 'bool' },
  // abuse protection (edge and worker) and the admin API (edge)
  { key: 'abuse.banSeconds', env: 'SIPEDGE_BAN_SECONDS', kind: 'int' },
  { key: 'abuse.banAction', env: 'SIPEDGE_BAN_ACTION', kind: 'string' },
  { key: 'abuse.banSyncMs', env: 'SIPEDGE_BAN_SYNC_MS', kind: 'int' },
  { key: 'abuse.pike.requests', env: 'SIPEDGE_PIKE_REQUESTS', kind: 'int' },
  { key: 'abuse.pike.windowMs', env: 'SIPEDGE_PIKE_WINDOW_MS', kind: 'int' },
  { key: 'abuse.authFailures.perSource', env: 'SIPEDGE_AUTH_FAILURES_PER_SOURCE', kind: 'int' },
  { key: 'abuse.authFailures.perUser', env: 'SIPEDGE_AUTH_FAILURES_PER_USER', kind: 'int' },
  { key: 'abuse.authFailures.windowMs', env: 'SIPEDGE_AUTH_FAILURES_WINDOW_MS', kind: 'int' },
  { key: 'admin.token', env: 'SIPEDGE_ADMIN_TOKEN', kind: 'string' },
  // connections and logging
  { key: 'redis.url', env: 'REDIS_URL', kind: 'string' },
  { key: 'redis.cluster', env: 'REDIS_CLUSTER', kind: 'endpoints' },
  { key: 'redis.sentinels', env: 'REDIS_SENTINELS', kind: 'endpoints' },
  { key: 'redis.sentinelMaster', env: 'REDIS_SENTINEL_MASTER', kind: 'string' },
  { key: 'timers.shards', env: 'SIPEDGE_TIMER_SHARDS', kind: 'int' },
  { key: 'nats.url', env: 'NATS_URL', kind: 'string' },
  { key: 'standalone.threads', env: 'SIPEDGE_THREADS', kind: 'int' },
  { key: 'log.level', env: 'LOG_LEVEL', kind: 'string' },
];

/**
 * How a setting is named to the user: its YAML key, except for the inline routing fields, which
 * share one variable and are named together as `routing`.
 */
export function settingName(setting: Setting): string {
  return setting.kind === 'routing' ? setting.key.slice(0, setting.key.lastIndexOf('.')) : setting.key;
}
