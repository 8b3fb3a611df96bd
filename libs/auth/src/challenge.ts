import { createHash, randomBytes } from 'node:crypto';

const MINUTE = 60_000;
import { type HeaderList, encodeUtf8, quote } from '@sipedge/sip';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from './algorithms.js';
import { type HmacNonceOptions, type NonceStore, createHmacNonce, randomNonce } from './nonces.js';

/** Which credentials a server looks at: a registrar/UAS `authorization` (401), a proxy `proxy-authorization` (407). */
export type CredentialHeader = 'authorization' | 'proxy-authorization';

/** How nonces are made and checked; the same object should be given to `createChallenge` and `verify`. */
export interface NonceOptions {
  /**
   * Stored mode (no `hmac`): every challenge issues its nonce here. HMAC mode: challenges write
   * nothing; `verify` records a nonce's count here only once a credential has verified.
   */
  readonly nonceStore: NonceStore;
  /** Stateless HMAC nonces (RFC 3261 §8.2.7); the mode the worker uses. */
  readonly hmac?: HmacNonceOptions;
  /** The clock, epoch ms (default `Date.now()`). */
  readonly now?: number;
}

export interface ChallengeOptions extends NonceOptions {
  readonly realm: string;
  /** One challenge per algorithm, SHA-256 first whatever the order given; at least one. */
  readonly algorithms: readonly DigestAlgorithm[];
  /** The previous nonce was stale but the credential was right (RFC 7616 §3.3): the UA retries without asking the user. */
  readonly stale?: boolean;
  /** Nonce lifetime. */
  readonly nonceTtlMs: number;
  /**
   * HMAC mode: derive the nonce and opaque from this (e.g. the request's transaction identity) and
   * round the expiry up to the next minute, so a retransmitted request gets a byte-identical
   * challenge (§8.2.7). Different requests still get different nonces.
   */
  readonly seed?: string;
}

export interface DigestChallenge {
  readonly nonce: string;
  readonly opaque: string;
  /** WWW-Authenticate / Proxy-Authenticate values, one per algorithm, SHA-256 first. */
  readonly values: readonly string[];
}

/**
 * A fresh challenge (RFC 3261 §22.1, RFC 7616 §3.3, RFC 8760 §2.4): one nonce shared by one
 * `Digest` value per algorithm. Stored mode writes the nonce to the store; HMAC mode writes nothing.
 */
export async function createChallenge(options: ChallengeOptions): Promise<DigestChallenge> {
  const { realm, nonceTtlMs } = options;
  if (realm.length === 0) throw new RangeError('realm must not be empty');
  if (!Number.isFinite(nonceTtlMs) || nonceTtlMs <= 0) throw new RangeError('nonceTtlMs must be positive');
  for (const algorithm of options.algorithms) {
    if (!DIGEST_ALGORITHMS.includes(algorithm)) throw new RangeError(`unsupported algorithm "${algorithm}"`);
  }
  const algorithms = DIGEST_ALGORITHMS.filter((a) => options.algorithms.includes(a));
  if (algorithms.length === 0) throw new RangeError('at least one algorithm is needed');

  let nonce: string;
  const seed = options.hmac === undefined ? undefined : options.seed;
  if (options.hmac !== undefined) {
    const expiresAt = Math.ceil((options.now ?? Date.now()) + nonceTtlMs);
    nonce = createHmacNonce(
      options.hmac,
      realm,
      seed === undefined ? expiresAt : Math.ceil(expiresAt / MINUTE) * MINUTE,
      seed,
    );
  } else {
    nonce = randomNonce();
    await options.nonceStore.issue(nonce, nonceTtlMs);
  }
  // Returned unchanged by the UA and not checked: the nonce carries everything verification needs.
  const opaque = (
    seed === undefined ? randomBytes(12) : createHash('sha256').update(`opaque|${seed}`).digest().subarray(0, 12)
  ).toString('base64url');
  const common = `realm=${quote(encodeUtf8(realm))}, nonce="${nonce}", opaque="${opaque}"`;
  const stale = options.stale === true ? ', stale=true' : '';
  const values = algorithms.map((algorithm) => `Digest ${common}, algorithm=${algorithm}, qop="auth"${stale}`);
  return { nonce, opaque, values };
}

/** 401 for `authorization` (registrar, UAS), 407 for `proxy-authorization` (proxy), §22.2 / §22.3. */
export function challengeStatus(header: CredentialHeader): 401 | 407 {
  return header === 'authorization' ? 401 : 407;
}

/**
 * The header list for `buildResponse(request, challengeStatus(header), { headers })`: one
 * WWW-Authenticate (401) or Proxy-Authenticate (407) row per challenge value, in order.
 */
export function challengeHeaders(header: CredentialHeader, challenge: DigestChallenge | readonly string[]): HeaderList {
  const name = header === 'authorization' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  const values = isStringList(challenge) ? challenge : challenge.values;
  return values.map((value) => [name, value] as const);
}

function isStringList(value: DigestChallenge | readonly string[]): value is readonly string[] {
  return Array.isArray(value);
}
