import { abuseSettingsFromEnv } from '@sipedge/abuse';
import { ConfigError, EnvReader } from '@sipedge/config';
import { CidrSet } from '@sipedge/net';
import { fleetIdentityFromEnv } from '@sipedge/proxy';
import { checkEdgeId, handoffRetryFromEnv, overloadSettingsFromEnv } from '@sipedge/handoff';
import { MIN_ADMIN_TOKEN_LENGTH } from './admin.js';
import { DEFAULT_EDGE_CONFIG, type EdgeConfig } from './config.js';
import type { CallFlowSettings } from './callflow/recorder.js';
import type { HepSettings } from './hep/exporter.js';
import { familyOf } from './transports/endpoint.js';
import { tlsConfigFromEnv } from './tls-env.js';

export { ConfigError };

/**
 * The edge's settings from environment variables (documented in services/edge/README.md);
 * anything unset keeps its default. Every value is checked, and a bad one is reported by name.
 */
export function edgeConfigFromEnv(environment: NodeJS.ProcessEnv): EdgeConfig {
  const env = new EnvReader(environment);
  const d = DEFAULT_EDGE_CONFIG;
  const edgeId = env.required('SIPEDGE_EDGE_ID', 'a unique edge id (letters, digits, - and _)');
  try {
    checkEdgeId(edgeId);
  } catch (error) {
    throw ConfigError.of('SIPEDGE_EDGE_ID', (error as Error).message, { cause: error });
  }
  const action = env.oneOf('SIPEDGE_RATE_LIMIT_ACTION', ['reject', 'drop'], d.rateLimit.action);
  const udp = env.endpoints('SIPEDGE_UDP', d.udp);
  const tcp = env.endpoints('SIPEDGE_TCP', d.tcp);
  const ws = env.endpoints('SIPEDGE_WS', d.websocket.ws);
  const wss = env.endpoints('SIPEDGE_WSS', d.websocket.wss);
  const tls = tlsConfigFromEnv(env, wss.length > 0);
  const identity = fleetIdentityFromEnv(env, { udp, tcp, tls: tls?.listen ?? [], ws, wss });
  const config: EdgeConfig = {
    ...d,
    edgeId,
    udp,
    tcp,
    advertised: identity.advertised,
    aliases: [...identity.aliases],
    selfPorts: [...(identity.ports ?? [])],
    websocket: {
      ws,
      wss,
      origins: env.list('SIPEDGE_WS_ORIGINS', d.websocket.origins),
      trustedProxies: cidrList(env, 'SIPEDGE_WS_TRUSTED_PROXIES', d.websocket.trustedProxies),
      pingIntervalMs: env.int('SIPEDGE_WS_PING_INTERVAL_MS', d.websocket.pingIntervalMs),
    },
    maxMessageSize: env.int('SIPEDGE_MAX_MESSAGE_SIZE', d.maxMessageSize, 1024),
    idleTimeoutMs: env.int('SIPEDGE_IDLE_TIMEOUT_MS', d.idleTimeoutMs),
    messageTimeoutMs: env.int('SIPEDGE_MESSAGE_TIMEOUT_MS', d.messageTimeoutMs),
    maxConnectionsPerSource: env.int('SIPEDGE_MAX_CONNECTIONS_PER_SOURCE', d.maxConnectionsPerSource, 1),
    maxConnections: env.int('SIPEDGE_MAX_CONNECTIONS', d.maxConnections, 1),
    rateLimit: {
      ...d.rateLimit,
      ratePerSecond: env.int('SIPEDGE_RATE_LIMIT_PER_SECOND', d.rateLimit.ratePerSecond, 1),
      burst: env.int('SIPEDGE_RATE_LIMIT_BURST', d.rateLimit.burst, 1),
      trusted: env.list('SIPEDGE_RATE_LIMIT_TRUSTED', d.rateLimit.trusted),
      action,
    },
    overload: overloadSettingsFromEnv(environment),
    denyList: env.list('SIPEDGE_DENY', d.denyList),
    abuse: abuseSettingsFromEnv(environment),
    natKeepalive: {
      mode: env.oneOf('SIPEDGE_NAT_KEEPALIVE', ['options', 'crlf', 'off'], d.natKeepalive.mode),
      intervalMs: env.int('SIPEDGE_NAT_KEEPALIVE_INTERVAL_MS', d.natKeepalive.intervalMs, 1000),
      misses: env.int('SIPEDGE_NAT_KEEPALIVE_MISSES', d.natKeepalive.misses, 1),
    },
    handoff: handoffRetryFromEnv(environment),
    drainDeadlineMs: env.int('SIPEDGE_DRAIN_DEADLINE_MS', d.drainDeadlineMs),
    http: env.endpoints('SIPEDGE_HTTP', [d.http])[0] ?? d.http,
  };
  const adminToken = env.string('SIPEDGE_ADMIN_TOKEN');
  if (adminToken !== undefined) {
    if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw ConfigError.of('SIPEDGE_ADMIN_TOKEN', `expected at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
    }
    config.adminToken = adminToken;
  }
  if (tls !== undefined) config.tls = tls;
  const hep = hepSettingsFromEnv(env);
  if (hep !== undefined) config.hep = hep;
  const callFlow = callFlowSettingsFromEnv(env);
  if (callFlow !== undefined) config.callFlow = callFlow;
  return config;
}

/**
 * The call-flow page's recording (`capture.*`): off unless SIPEDGE_CAPTURE_SAMPLING names a share of
 * calls (the messages hold the calls' content: recording them is a choice). The limits are checked
 * even when it is off.
 */
function callFlowSettingsFromEnv(env: EnvReader): CallFlowSettings | undefined {
  const samplingPercent = env.int('SIPEDGE_CAPTURE_SAMPLING', 0);
  if (samplingPercent > 100) {
    throw ConfigError.of('SIPEDGE_CAPTURE_SAMPLING', `expected a percentage 0–100, got ${samplingPercent}`);
  }
  const retentionMs = env.int('SIPEDGE_CAPTURE_RETENTION_S', 3600, 1) * 1000;
  const maxCalls = env.int('SIPEDGE_CAPTURE_MAX_CALLS', 1000, 1);
  const maxMessagesPerCall = env.int('SIPEDGE_CAPTURE_MAX_MESSAGES', 100, 1);
  return samplingPercent === 0 ? undefined : { samplingPercent, retentionMs, maxCalls, maxMessagesPerCall };
}

/** Default capture agent id (chunk 0x000c), as Kamailio's and OpenSIPS's HEP modules default to. */
export const DEFAULT_HEP_AGENT_ID = 1;
/** Default share of calls captured, in percent. */
export const DEFAULT_HEP_SAMPLING = 100;

/**
 * HEP export (`hep.*`): on when SIPEDGE_HEP_ADDRESS names the collector (an IP literal and a
 * port). The other settings are checked even when it is off, so that a mistake shows at once.
 */
function hepSettingsFromEnv(env: EnvReader): HepSettings | undefined {
  const agentId = env.int('SIPEDGE_HEP_AGENT_ID', DEFAULT_HEP_AGENT_ID);
  if (agentId > 0xffffffff) throw ConfigError.of('SIPEDGE_HEP_AGENT_ID', `expected at most 4294967295, got ${agentId}`);
  const samplingPercent = env.int('SIPEDGE_HEP_SAMPLING', DEFAULT_HEP_SAMPLING);
  if (samplingPercent > 100) {
    throw ConfigError.of('SIPEDGE_HEP_SAMPLING', `expected a percentage 0–100, got ${samplingPercent}`);
  }
  const password = env.string('SIPEDGE_HEP_PASSWORD');
  if (password !== undefined && Buffer.byteLength(password) > 1024) {
    throw ConfigError.of('SIPEDGE_HEP_PASSWORD', 'expected at most 1024 bytes');
  }
  const collectors = env.endpoints('SIPEDGE_HEP_ADDRESS', []);
  if (collectors.length === 0) return undefined;
  const collector = collectors[0]!;
  if (collectors.length > 1 || familyOf(collector.address) === undefined || collector.port === 0) {
    throw ConfigError.of(
      'SIPEDGE_HEP_ADDRESS',
      'expected one ip:port (IPv6 as [addr]:port, a port other than 0) of the HEP collector',
    );
  }
  return { collector, agentId, samplingPercent, ...(password === undefined ? {} : { password }) };
}

/** A list of CIDRs, each checked now: a bad one is a ConfigError naming the variable. */
function cidrList(env: EnvReader, name: string, fallback: readonly string[]): string[] {
  const list = env.list(name, fallback);
  try {
    new CidrSet(list, name);
  } catch (error) {
    throw ConfigError.of(name, (error as Error).message, { cause: error });
  }
  return list;
}
