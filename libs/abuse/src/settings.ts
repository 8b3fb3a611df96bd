import { ConfigError, EnvReader } from '@sipedge/config';
import { CidrSet } from '@sipedge/net';
import type { AuthFailureSettings } from './auth-failures.js';
import type { BanSettings } from './bans.js';
import type { PikeSettings } from './pike.js';

/** Abuse protection's settings, the same for edges and workers (docs/configuration.md, docs/security.md). */
export interface AbuseSettings {
  bans: BanSettings;
  /** What a banned source gets: nothing (`drop`), or 403 to a request (`reject`). */
  banAction: 'drop' | 'reject';
  pike: PikeSettings;
  authFailures: AuthFailureSettings;
  /** Never banned: the trusted sources (SIPEDGE_TRUSTED) and the rate limiter's (SIPEDGE_RATE_LIMIT_TRUSTED). */
  exempt: CidrSet;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** Reads and checks the abuse settings; a bad one is a ConfigError naming its variable. */
export function abuseSettingsFromEnv(environment: NodeJS.ProcessEnv): AbuseSettings {
  const env = new EnvReader(environment);
  const pike: PikeSettings = {
    requests: env.int('SIPEDGE_PIKE_REQUESTS', 5000),
    windowMs: env.int('SIPEDGE_PIKE_WINDOW_MS', 10_000, 100),
  };
  const trusted = [...env.list('SIPEDGE_TRUSTED', LOOPBACK), ...env.list('SIPEDGE_RATE_LIMIT_TRUSTED', LOOPBACK)];
  let exempt: CidrSet;
  try {
    exempt = new CidrSet(trusted, 'SIPEDGE_TRUSTED / SIPEDGE_RATE_LIMIT_TRUSTED');
  } catch (error) {
    throw ConfigError.of('SIPEDGE_TRUSTED', (error as Error).message, { cause: error });
  }
  return {
    bans: {
      durationMs: env.int('SIPEDGE_BAN_SECONDS', 600, 1) * 1000,
      syncMs: env.int('SIPEDGE_BAN_SYNC_MS', 1000, 50),
    },
    banAction: env.oneOf('SIPEDGE_BAN_ACTION', ['drop', 'reject'], 'drop'),
    pike,
    authFailures: {
      perSource: env.int('SIPEDGE_AUTH_FAILURES_PER_SOURCE', 10),
      perUser: env.int('SIPEDGE_AUTH_FAILURES_PER_USER', 30),
      windowMs: env.int('SIPEDGE_AUTH_FAILURES_WINDOW_MS', 600_000, 1000),
    },
    exempt,
  };
}
