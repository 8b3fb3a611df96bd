import { createHash } from 'node:crypto';
import { encodeUtf8 } from '@sipedge/sip';

/**
 * The digest algorithms this package challenges with and verifies (RFC 7616 §3.3, RFC 8760 §2).
 * `-sess` variants and SHA-512-256 are not offered, so a credential that uses them is rejected.
 */
export type DigestAlgorithm = 'SHA-256' | 'MD5';

/** Preference order for challenges: SHA-256 first (RFC 8760 §2.4, RFC 7616 §3.7). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

const NODE_HASH: Readonly<Record<DigestAlgorithm, string>> = { 'SHA-256': 'sha256', MD5: 'md5' };

/**
 * The algorithm a credential names (case-insensitive; absent means MD5, RFC 7616 §3.3), or
 * undefined when it is one we do not support (`MD5-sess`, `SHA-256-sess`, `SHA-512-256`, ...).
 */
export function parseAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  if (value === undefined) return 'MD5';
  const upper = value.toUpperCase();
  return upper === 'MD5' || upper === 'SHA-256' ? upper : undefined;
}

/**
 * H(p1:p2:...) as lower-case hex. The parts are binary strings (latin1, one character per byte),
 * the form `@sipedge/sip` holds header text in, so the bytes hashed are the bytes on the wire.
 */
export function digestHash(algorithm: DigestAlgorithm, parts: readonly string[]): string {
  return createHash(NODE_HASH[algorithm]).update(parts.join(':'), 'latin1').digest('hex');
}

/**
 * HA1 = H(username:realm:password) (RFC 7616 §3.4.2), from readable text: each part is hashed as
 * UTF-8. This is the form to provision `ha1Md5` / `ha1Sha256` with.
 */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, [encodeUtf8(username), encodeUtf8(realm), encodeUtf8(password)]);
}

export interface ResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** HA1 in hex. */
  readonly ha1: string;
  /** The following as written in the credential (binary strings). */
  readonly nonce: string;
  /** Nonce count, 8 hex digits as written. */
  readonly nc: string;
  readonly cnonce: string;
  /** `auth` as written (only qop=auth is supported). */
  readonly qop: string;
  readonly method: string;
  /** The `uri` parameter (digest-uri). */
  readonly uri: string;
}

/** response = KD(HA1, nonce:nc:cnonce:qop:HA2), HA2 = H(method:uri) (RFC 7616 §3.4.1, RFC 3261 §22.4). */
export function computeResponse(input: ResponseInput): string {
  const ha2 = digestHash(input.algorithm, [input.method, input.uri]);
  return digestHash(input.algorithm, [input.ha1.toLowerCase(), input.nonce, input.nc, input.cnonce, input.qop, ha2]);
}
