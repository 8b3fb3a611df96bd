import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeUtf8 } from '@sipedge/sip';

/**
 * The digest nonce port of `@sipedge/store` (`NonceStore`: `RedisNonceStore`, `MemoryNonceStore`),
 * restated structurally so that this package's types do not depend on the store package; any
 * `NonceStore` from `@sipedge/store` is one of these.
 */
export interface NonceStore {
  issue(nonce: string, ttlMs: number): Promise<void>;
  use(nonce: string, nc: number | null): Promise<'ok' | 'unknown' | 'replay'>;
}

/**
 * Stateless nonces (RFC 3261 §8.2.7): `nonce = base64url(expiresAt ‖ random ‖ HMAC-SHA-256(secret, …)[0..16))`.
 * Every worker of a fleet must be configured with the same secret.
 */
export interface HmacNonceOptions {
  /** At least 32 bytes (a string counts its UTF-8 bytes). Signs new nonces and verifies. */
  readonly secret: string | Uint8Array;
  /** Secrets that still verify (not sign) during a rotation, for one nonce lifetime. */
  readonly previousSecrets?: readonly (string | Uint8Array)[];
}

/** Random bytes of a stored (non-HMAC) nonce: 128 bits. */
const STORED_NONCE_BYTES = 16;
const TIME_BYTES = 8;
const RANDOM_BYTES = 16;
const MAC_BYTES = 16;
const HMAC_NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
const MAC_LABEL = 'sipedge digest nonce v1\0';
const MIN_SECRET_BYTES = 32;

/** A fresh random nonce (128 bits, base64url) for the stored mode. */
export function randomNonce(): string {
  return randomBytes(STORED_NONCE_BYTES).toString('base64url');
}

/**
 * A stateless nonce for `realm` that expires at `expiresAt` (epoch ms). The random part keeps two
 * nonces issued in the same millisecond apart (their nonce counts are tracked separately).
 */
export function createHmacNonce(options: HmacNonceOptions, realm: string, expiresAt: number, seed?: string): string {
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError('expiresAt must be epoch ms');
  const body = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
  body.writeBigUInt64BE(BigInt(expiresAt), 0);
  // With a seed the "random" part is derived from it, so the same request gets the same nonce.
  (seed === undefined ? randomBytes(RANDOM_BYTES) : createHash('sha256').update(seed).digest()).copy(
    body,
    TIME_BYTES,
    0,
    RANDOM_BYTES,
  );
  return Buffer.concat([body, mac(secretBytes(options.secret), body, realm)]).toString('base64url');
}

export type HmacNonceCheck = { readonly valid: false } | { readonly valid: true; readonly expiresAt: number };

/**
 * Checks a stateless nonce's form and MAC (current or previous secrets) for `realm`; the caller
 * compares `expiresAt` with the clock. No store lookup.
 */
export function checkHmacNonce(options: HmacNonceOptions, realm: string, nonce: string): HmacNonceCheck {
  const bytes = Buffer.from(nonce, 'base64url');
  // Node's decoder skips characters outside the alphabet; only the canonical text is accepted.
  if (bytes.length !== HMAC_NONCE_BYTES || bytes.toString('base64url') !== nonce) return { valid: false };
  const body = bytes.subarray(0, TIME_BYTES + RANDOM_BYTES);
  const given = bytes.subarray(TIME_BYTES + RANDOM_BYTES);
  const secrets = [options.secret, ...(options.previousSecrets ?? [])];
  let ok = false;
  for (const secret of secrets) {
    // Every secret is tried, so the time taken does not say which one matched.
    if (timingSafeEqual(mac(secretBytes(secret), body, realm), given)) ok = true;
  }
  if (!ok) return { valid: false };
  const expiresAt = Number(body.readBigUInt64BE(0));
  return Number.isSafeInteger(expiresAt) ? { valid: true, expiresAt } : { valid: false };
}

/** Validates the secrets up front (e.g. at start-up), throwing RangeError for a short one. */
export function checkHmacOptions(options: HmacNonceOptions): void {
  secretBytes(options.secret);
  for (const secret of options.previousSecrets ?? []) secretBytes(secret);
}

function mac(secret: Buffer, body: Buffer, realm: string): Buffer {
  return createHmac('sha256', secret)
    .update(MAC_LABEL, 'latin1')
    .update(body)
    .update(encodeUtf8(realm), 'latin1')
    .digest()
    .subarray(0, MAC_BYTES);
}

function secretBytes(secret: string | Uint8Array): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`the nonce secret must have at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}
