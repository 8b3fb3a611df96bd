import { createHash } from 'node:crypto';

/**
 * The keys failed authentications are counted under in the shared state: one per source address
 * and one per user of a realm. Usernames come from attackers: a long one is replaced by its hash,
 * so a key stays short.
 */

/** Longest username kept as written in a key. */
const MAX_USERNAME_IN_KEY = 64;

export function sourceFailureKey(address: string): string {
  return `src:${address}`;
}

export function userFailureKey(realm: string, username: string): string {
  const user =
    username.length <= MAX_USERNAME_IN_KEY
      ? username
      : `sha256:${createHash('sha256').update(username, 'utf8').digest('base64url')}`;
  return `user:${realm}:${user}`;
}
