import { readFileSync } from 'node:fs';
import { parseEndpoint } from '@sipedge/handoff';
import { DEFAULT_EDGE_CONFIG, type EdgeConfig } from './config.js';
import type { Endpoint } from './transports/types.js';

/** A configuration error that names the variable and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The edge's settings from environment variables (documented in services/edge/README.md);
 * anything unset keeps its default. Every value is checked, and a bad one is reported by name.
 */
export function edgeConfigFromEnv(env: NodeJS.ProcessEnv): EdgeConfig {
  const d = DEFAULT_EDGE_CONFIG;
  const endpoints = (name: string, fallback: Endpoint[]): Endpoint[] => {
    const v = env[name];
    if (v === undefined) return fallback;
    if (v.trim() === '') return [];
    return v.split(',').map((part) => {
      try {
        return parseEndpoint(part.trim());
      } catch {
        throw new ConfigError(`${name}: expected host:port[,host:port…] (IPv6 as [addr]:port), got "${part.trim()}"`);
      }
    });
  };
  const int = (name: string, fallback: number, min = 0): number => {
    const v = env[name];
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new ConfigError(`${name}: expected an integer ≥ ${min}, got "${v}"`);
    return Number(v);
  };
  const list = (name: string, fallback: string[]): string[] => {
    const v = env[name];
    return v === undefined
      ? fallback
      : v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
  };
  const edgeId = env.SIPEDGE_EDGE_ID;
  if (edgeId === undefined || edgeId === '')
    throw new ConfigError('SIPEDGE_EDGE_ID: expected a unique edge id (letters, digits, - and _)');
  const advertised = env.SIPEDGE_ADVERTISED === undefined ? d.advertised : advertisedOf(env.SIPEDGE_ADVERTISED);
  const action = env.SIPEDGE_RATE_LIMIT_ACTION ?? d.rateLimit.action;
  if (action !== 'reject' && action !== 'drop') {
    throw new ConfigError(`SIPEDGE_RATE_LIMIT_ACTION: expected "reject" or "drop", got "${action}"`);
  }
  const tlsListen = endpoints('SIPEDGE_TLS', []);
  const config: EdgeConfig = {
    ...d,
    edgeId,
    udp: endpoints('SIPEDGE_UDP', d.udp),
    tcp: endpoints('SIPEDGE_TCP', d.tcp),
    advertised,
    aliases: list('SIPEDGE_ALIASES', d.aliases),
    maxMessageSize: int('SIPEDGE_MAX_MESSAGE_SIZE', d.maxMessageSize, 1024),
    idleTimeoutMs: int('SIPEDGE_IDLE_TIMEOUT_MS', d.idleTimeoutMs),
    maxConnectionsPerSource: int('SIPEDGE_MAX_CONNECTIONS_PER_SOURCE', d.maxConnectionsPerSource, 1),
    rateLimit: {
      ...d.rateLimit,
      ratePerSecond: int('SIPEDGE_RATE_LIMIT_PER_SECOND', d.rateLimit.ratePerSecond, 1),
      burst: int('SIPEDGE_RATE_LIMIT_BURST', d.rateLimit.burst, 1),
      trusted: list('SIPEDGE_RATE_LIMIT_TRUSTED', d.rateLimit.trusted),
      action,
    },
    denyList: list('SIPEDGE_DENY', d.denyList),
    handoff: {
      ackTimeoutMs: int('SIPEDGE_HANDOFF_ACK_TIMEOUT_MS', d.handoff.ackTimeoutMs, 1),
      attempts: int('SIPEDGE_HANDOFF_ATTEMPTS', d.handoff.attempts, 1),
    },
    drainDeadlineMs: int('SIPEDGE_DRAIN_DEADLINE_MS', d.drainDeadlineMs),
    http: endpoints('SIPEDGE_HTTP', [d.http])[0] ?? d.http,
  };
  if (tlsListen.length > 0) {
    const key = env.SIPEDGE_TLS_KEY_FILE;
    const cert = env.SIPEDGE_TLS_CERT_FILE;
    if (key === undefined || cert === undefined) {
      throw new ConfigError('SIPEDGE_TLS_KEY_FILE and SIPEDGE_TLS_CERT_FILE: required when SIPEDGE_TLS is set');
    }
    const read = (name: string, file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        throw new ConfigError(`${name}: cannot read "${file}": ${(error as Error).message}`);
      }
    };
    config.tls = {
      listen: tlsListen,
      key: read('SIPEDGE_TLS_KEY_FILE', key),
      cert: read('SIPEDGE_TLS_CERT_FILE', cert),
      ...(env.SIPEDGE_TLS_CA_FILE === undefined ? {} : { ca: read('SIPEDGE_TLS_CA_FILE', env.SIPEDGE_TLS_CA_FILE) }),
    };
  }
  return config;
}

function advertisedOf(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (m === null) throw new ConfigError(`SIPEDGE_ADVERTISED: expected host[:port], got "${value}"`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port: m[2] === undefined ? 5060 : Number(m[2]) };
}
