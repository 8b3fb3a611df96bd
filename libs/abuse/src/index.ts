export type { AbuseLogger, AbuseState, Ban, BanChannel } from './ports.js';
export { BAN_SUBJECT, Bans, type BanSettings, canonicalAddress } from './bans.js';
export { Pike, type PikeSettings } from './pike.js';
export { AuthFailures, type AuthFailureSettings } from './auth-failures.js';
export { sourceFailureKey, userFailureKey } from './failure-keys.js';
export { type AbuseSettings, abuseSettingsFromEnv } from './settings.js';
