import type { Bans } from './bans.js';
import { sourceFailureKey, userFailureKey } from './failure-keys.js';
import type { AbuseLogger, AbuseState } from './ports.js';

export interface AuthFailureSettings {
  /** Failed authentications from one source within the window that ban it; 0: not counted. */
  perSource: number;
  /**
   * Failed authentications for one user (from any sources) within the window after which each
   * further failing source is banned — a password guessed from many addresses; 0: not counted.
   * The user is never locked out: only the sources that fail are refused.
   */
  perUser: number;
  /** The window (ms), from a key's first failure. */
  windowMs: number;
}

/**
 * fail2ban for digest authentication, fleet-wide: every failed authentication (a wrong response,
 * an unknown user, a replayed nonce count) is counted in the shared state per source and per user,
 * and a source is banned (Bans: everywhere, exempt sources never) once either count reaches its
 * threshold. Callers await `failed` before answering, so the ban is in force on every edge before
 * the source hears back.
 */
export class AuthFailures {
  constructor(
    private readonly state: AbuseState,
    private readonly bans: Bans,
    private readonly settings: AuthFailureSettings,
    private readonly logger: AbuseLogger,
  ) {}

  /** Counts a failure of `username` (when the credentials named one) from `address`; true when the source is banned (by this failure or already). */
  async failed(address: string, realm: string, username: string | undefined, now: number): Promise<boolean> {
    const { perSource, perUser, windowMs } = this.settings;
    const keys: string[] = [];
    if (perSource > 0) keys.push(sourceFailureKey(address));
    if (perUser > 0 && username !== undefined) keys.push(userFailureKey(realm, username));
    if (keys.length === 0) return false;
    let counts: number[];
    try {
      counts = await this.state.countFailures(keys, windowMs);
    } catch (error) {
      this.logger.warn({ err: error, address }, 'failed authentication not counted');
      return false;
    }
    const fromSource = perSource > 0 ? counts[0]! : 0;
    const forUser = perUser > 0 && username !== undefined ? counts[keys.length - 1]! : 0;
    const seconds = windowMs / 1000;
    // The reason names the threshold reached, not the count: guesses already in flight when the
    // ban was decided are counted after it, on this process or another, and must not rewrite it.
    const reason =
      perSource > 0 && fromSource >= perSource
        ? `auth failures: ${perSource} from this source in ${seconds} s`
        : perUser > 0 && forUser >= perUser
          ? `auth failures: ${perUser} for user ${JSON.stringify(username)} in ${seconds} s`
          : undefined;
    if (reason === undefined) return false;
    if (this.bans.isBanned(address, now)) return true;
    return (await this.bans.ban(address, reason, now)) !== undefined;
  }
}
