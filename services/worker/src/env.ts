import { type AbuseSettings, abuseSettingsFromEnv } from '@sipedge/abuse';
import { type DigestAlgorithm, StaticUserDirectory } from '@sipedge/auth';
import { ConfigError, EnvReader } from '@sipedge/config';
import type { Endpoint } from '@sipedge/net';
import {
  type HandoffRetrySettings,
  type OverloadSettings,
  handoffRetryFromEnv,
  overloadSettingsFromEnv,
} from '@sipedge/handoff';
import {
  MIN_ROUTE_SECRET_BYTES,
  type ProxyConfig,
  fleetIdentityFromEnv,
  fleetSelf,
  type RouteTokenKeys,
  TOPOLOGY_HIDING_MODES,
  type TopologyHiding,
} from '@sipedge/proxy';
import { DEFAULT_DEADLINE_TAKEOVER_MS } from './call-store.js';
import { NO_ROUTING, type Routing, loadRouting, parseRouting } from './routing.js';
import { DEFAULT_TIMERS, type TimerSettings, checkTimerSettings } from '@sipedge/transaction';

export { ConfigError };

/** A dead worker's deadlines are taken over at most this late (the takeover target of issue 16 is 5 s). */
const MAX_DEADLINE_TAKEOVER_MS = 10_000;

/** What a worker process needs besides its connections (NATS_URL, REDIS_URL). */
export interface WorkerEnvConfig {
  workerId: string;
  /** The ops HTTP server (`/metrics`, `/healthz`), `SIPEDGE_WORKER_HTTP`; off when unset or empty. */
  http?: Endpoint;
  proxy: ProxyConfig;
  /** CIDRs that may relay to foreign domains without authenticating. */
  trusted: string[];
  /**
   * The fleet secret that signs the tokens of our Record-Routes (`SIPEDGE_FLEET_SECRET`, and
   * `SIPEDGE_FLEET_SECRET_PREVIOUS` still verifying during a rotation). Required in a fleet
   * (`planRole`); standalone mode makes a random one when it is unset.
   */
  fleetSecret?: RouteTokenKeys;
  timers: TimerSettings;
  timerC: boolean;
  /**
   * How long after its due time a call deadline's job runs (`SIPEDGE_DEADLINE_TAKEOVER_MS`): the
   * worker that committed it fires it first on a local timer; the job is the takeover when that
   * worker is gone. At most 10 s, within the record's TTL margin.
   */
  deadlineTakeoverMs: number;
  /** Stateless proxy mode (§16.11). */
  stateless: boolean;
  /** Topology hiding between untrusted and trusted sides, or between all (libs/proxy topology.ts). */
  topologyHiding: TopologyHiding;
  routing: Routing;
  /** OPTIONS probing of dispatcher hops. */
  probe: { intervalMs: number; timeoutMs: number; holdDownMs: number };
  /** How long a failed next-hop tuple is tried last (the connection blacklist). */
  blacklistTtlMs: number;
  /** Overload control: new initial requests that waited past `maxDelayMs` for the worker get 503. */
  overload: OverloadSettings;
  /** The edges' hand-off retries (the edges read the same settings): a finished record outlives them. */
  handoff: HandoffRetrySettings;
  auth?: {
    realm: string;
    users: StaticUserDirectory;
    /** Also look users up in the shared user table (Redis `sipedge:users:{<realm>}`), after `users`. */
    userTable: boolean;
    secret: string;
    algorithms: DigestAlgorithm[];
    register: boolean;
    proxy: boolean;
  };
  registrar: { minExpires: number; maxExpires: number; defaultExpires: number; maxContacts: number };
  /** Bans and failed-authentication counting (the edges read the same settings). */
  abuse: AbuseSettings;
}

/**
 * The worker's settings from environment variables (documented in services/worker/README.md).
 * The advertised address must be the one the edges advertise: it is the Via and Record-Route host.
 */
export function workerConfigFromEnv(environment: NodeJS.ProcessEnv): WorkerEnvConfig {
  const env = new EnvReader(environment);
  const identity = fleetIdentityFromEnv(env, {
    udp: env.endpoints('SIPEDGE_UDP', []),
    tcp: env.endpoints('SIPEDGE_TCP', []),
    tls: env.endpoints('SIPEDGE_TLS', []),
    ws: env.endpoints('SIPEDGE_WS', []),
    wss: env.endpoints('SIPEDGE_WSS', []),
  });
  const { advertised } = identity;
  const timers = {
    ...DEFAULT_TIMERS,
    t1: env.int('SIPEDGE_T1_MS', DEFAULT_TIMERS.t1, 1),
    t2: env.int('SIPEDGE_T2_MS', DEFAULT_TIMERS.t2, 1),
    t4: env.int('SIPEDGE_T4_MS', DEFAULT_TIMERS.t4, 1),
    timerC: env.int('SIPEDGE_TIMER_C_MS', DEFAULT_TIMERS.timerC, 1),
  };
  try {
    checkTimerSettings(timers);
  } catch (error) {
    throw new ConfigError(`SIPEDGE_T1_MS/T2/T4/TIMER_C: ${(error as Error).message}`, undefined, undefined, {
      cause: error,
    });
  }
  const routingFile = env.string('SIPEDGE_ROUTING_FILE');
  const inlineRouting = env.string('SIPEDGE_ROUTING');
  if (routingFile !== undefined && inlineRouting !== undefined) {
    throw ConfigError.of('SIPEDGE_ROUTING', 'cannot be combined with a routing file (SIPEDGE_ROUTING_FILE): set one');
  }
  const config: WorkerEnvConfig = {
    workerId: env.string('SIPEDGE_WORKER_ID') ?? `worker-${process.pid}`,
    proxy: {
      ...fleetSelf(identity),
      domains: new Set(
        env
          .list('SIPEDGE_DOMAINS', [
            advertised.host,
            ...(advertised.ipv6Host === undefined ? [] : [advertised.ipv6Host]),
          ])
          .map((d) => d.toLowerCase()),
      ),
      supported: env.list('SIPEDGE_SUPPORTED', []),
      recordRoute: env.bool('SIPEDGE_RECORD_ROUTE', true),
      udpMtu: env.int('SIPEDGE_UDP_MTU', 1300, 512),
    },
    trusted: env.list('SIPEDGE_TRUSTED', ['127.0.0.0/8', '::1/128']),
    timers,
    timerC: env.bool('SIPEDGE_TIMER_C', true),
    deadlineTakeoverMs: env.int('SIPEDGE_DEADLINE_TAKEOVER_MS', DEFAULT_DEADLINE_TAKEOVER_MS, 0),
    stateless: env.bool('SIPEDGE_STATELESS', false),
    topologyHiding: env.oneOf('SIPEDGE_TOPOLOGY_HIDING', TOPOLOGY_HIDING_MODES, 'off'),
    routing: routingOf(routingFile, inlineRouting),
    probe: {
      intervalMs: env.int('SIPEDGE_PROBE_INTERVAL_MS', 10_000, 100),
      timeoutMs: env.int('SIPEDGE_PROBE_TIMEOUT_MS', 5_000, 1),
      holdDownMs: env.int('SIPEDGE_PROBE_HOLD_DOWN_MS', 30_000, 1),
    },
    blacklistTtlMs: env.int('SIPEDGE_BLACKLIST_TTL_MS', 60_000, 1),
    overload: overloadSettingsFromEnv(environment),
    handoff: handoffRetryFromEnv(environment),
    abuse: abuseSettingsFromEnv(environment),
    registrar: {
      minExpires: env.int('SIPEDGE_MIN_EXPIRES', 60, 1),
      maxExpires: env.int('SIPEDGE_MAX_EXPIRES', 3600, 1),
      defaultExpires: env.int('SIPEDGE_DEFAULT_EXPIRES', 3600, 1),
      maxContacts: env.int('SIPEDGE_MAX_CONTACTS', 10, 1),
    },
  };
  const fleetSecret = env.string('SIPEDGE_FLEET_SECRET');
  if (fleetSecret !== undefined) {
    config.fleetSecret = {
      secret: checkedSecret('SIPEDGE_FLEET_SECRET', fleetSecret),
      previous: env
        .list('SIPEDGE_FLEET_SECRET_PREVIOUS', [])
        .map((previous) => checkedSecret('SIPEDGE_FLEET_SECRET_PREVIOUS', previous)),
    };
  }
  if (config.deadlineTakeoverMs > MAX_DEADLINE_TAKEOVER_MS) {
    throw ConfigError.of('SIPEDGE_DEADLINE_TAKEOVER_MS', `must be at most ${MAX_DEADLINE_TAKEOVER_MS}`);
  }
  const [http] = env.endpoints('SIPEDGE_WORKER_HTTP', []);
  if (http !== undefined) config.http = http;
  if (config.probe.timeoutMs >= config.probe.intervalMs) {
    throw ConfigError.of(
      'SIPEDGE_PROBE_TIMEOUT_MS',
      'must be less than the probe interval (SIPEDGE_PROBE_INTERVAL_MS)',
    );
  }
  // What topology hiding removes comes back through our Record-Route, and responses get their Vias
  // back from the server transaction (§16.7): neither exists without Record-Route or state.
  if (config.topologyHiding !== 'off' && (!config.proxy.recordRoute || config.stateless)) {
    throw ConfigError.of(
      'SIPEDGE_TOPOLOGY_HIDING',
      'needs Record-Route (SIPEDGE_RECORD_ROUTE) and a stateful proxy (not SIPEDGE_STATELESS)',
    );
  }
  const realm = env.string('SIPEDGE_AUTH_REALM');
  if (realm !== undefined) {
    const secret = checkedSecret(
      'SIPEDGE_AUTH_SECRET',
      env.required('SIPEDGE_AUTH_SECRET', 'a secret of at least 32 characters shared by all workers'),
    );
    const users = env.list('SIPEDGE_AUTH_USERS', []).map((entry) => {
      const colon = entry.indexOf(':');
      if (colon <= 0)
        throw ConfigError.of('SIPEDGE_AUTH_USERS', `expected user:password[,user:password…], got "${entry}"`);
      return { username: entry.slice(0, colon), password: entry.slice(colon + 1) };
    });
    config.auth = {
      realm,
      users: new StaticUserDirectory(users),
      userTable: env.bool('SIPEDGE_AUTH_USER_TABLE', false),
      secret,
      algorithms: algorithmsOf(env.list('SIPEDGE_AUTH_ALGORITHMS', ['SHA-256', 'MD5'])),
      register: env.bool('SIPEDGE_AUTH_REGISTER', true),
      proxy: env.bool('SIPEDGE_AUTH_PROXY', false),
    };
  }
  return config;
}

/** Routing from a JSON file (`SIPEDGE_ROUTING_FILE`), inline JSON (`SIPEDGE_ROUTING`) or none. */
function routingOf(file: string | undefined, inline: string | undefined): Routing {
  if (file !== undefined) return loadRouting(file);
  if (inline !== undefined) return parseRouting(inline, '', 'SIPEDGE_ROUTING');
  return NO_ROUTING;
}

/** A signing secret: at least 32 bytes (UTF-8), the same on every worker of a fleet. */
function checkedSecret(name: string, secret: string): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_ROUTE_SECRET_BYTES) {
    throw ConfigError.of(name, `expected at least ${MIN_ROUTE_SECRET_BYTES} characters`);
  }
  return secret;
}

/** Digest algorithms, most preferred first: one challenge each, in this order (RFC 8760 §2.4). */
function algorithmsOf(names: string[]): DigestAlgorithm[] {
  if (names.length === 0) throw ConfigError.of('SIPEDGE_AUTH_ALGORITHMS', 'expected SHA-256 and/or MD5');
  return names.map((name) => {
    const upper = name.toUpperCase();
    if (upper !== 'SHA-256' && upper !== 'MD5') {
      throw ConfigError.of('SIPEDGE_AUTH_ALGORITHMS', `expected SHA-256 and/or MD5, got "${name}"`);
    }
    return upper;
  });
}
