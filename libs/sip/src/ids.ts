import { randomBytes } from 'node:crypto';
import { MAGIC_COOKIE } from './via.js';

/** A random token of `bytes` bytes in base64url (token-safe characters only). */
export function randomToken(bytes = 12): string {
  return randomBytes(bytes).toString('base64url').replace(/_/g, '.');
}

/** A new RFC 3261 branch: magic cookie plus a random part, unique across space and time (§8.1.1.7). */
export function newBranch(): string {
  return MAGIC_COOKIE + randomToken(12);
}

/** A new From/To tag with at least 32 bits of randomness (§19.3). */
export function newTag(): string {
  return randomToken(8);
}

/** A new Call-ID (§8.1.1.4), optionally qualified with a host. */
export function newCallId(host?: string): string {
  const id = randomToken(16);
  return host === undefined ? id : `${id}@${host}`;
}
