import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AuthValue,
  type SipMessage,
  SipSyntaxError,
  authParam,
  decodeUtf8,
  encodeUtf8,
  parseAuth,
} from '@sipedge/sip';
import { type DigestAlgorithm, computeResponse, digestHash, parseAlgorithm } from './algorithms.js';
import type { CredentialHeader, NonceOptions } from './challenge.js';
import { checkHmacNonce } from './nonces.js';
import type { UserCredentials, UserDirectory } from './users.js';

export interface VerifyOptions extends NonceOptions {
  /** The request carrying the credentials. */
  readonly request: SipMessage;
  readonly header: CredentialHeader;
  /** Our realm: only credentials for it are looked at (§22.3). */
  readonly realm: string;
  readonly users: UserDirectory;
  /** The method for HA2 (default: the request's method). */
  readonly method?: string;
}

/** Why a credential for our realm was refused (re-challenge without stale). */
export type FailureReason =
  /** username, nonce, uri, response, nc or cnonce missing or badly formed. */
  | 'malformed'
  /** Not MD5 or SHA-256 (e.g. a `-sess` variant, SHA-512-256): we never offer those. */
  | 'unsupported-algorithm'
  /** No qop: an RFC 2069 credential, refused (no nonce count, so no replay protection). */
  | 'qop-missing'
  /** qop other than `auth` (e.g. `auth-int`). */
  | 'unsupported-qop'
  /** `userhash=true` (RFC 7616 §3.4.4) is not supported. */
  | 'unsupported-userhash'
  /** The `uri` parameter is not the Request-URI as written. */
  | 'uri-mismatch'
  /** HMAC mode: the nonce is not one we issued for this realm (bad form or MAC). */
  | 'nonce-invalid'
  | 'unknown-user'
  /** The user has an HA1 only for the other algorithm. */
  | 'no-credentials-for-algorithm'
  /** Wrong password (or a response computed over something else). */
  | 'wrong-response';

/** The verdict on the credentials, without the rows they were found in. */
type Verdict =
  | { readonly outcome: 'ok'; readonly username: string; readonly algorithm: DigestAlgorithm }
  /** No credentials for our realm: challenge. */
  | { readonly outcome: 'missing' }
  /** The credential was right but its nonce has expired or is unknown: challenge with `stale: true`. */
  | { readonly outcome: 'stale'; readonly username: string }
  /** The credential was right but its nonce count was used before: a replay, challenge (no stale). */
  | { readonly outcome: 'replay'; readonly username: string }
  /** Refused: challenge without stale (the UA asks for a password again). */
  | {
      readonly outcome: 'failed';
      readonly reason: FailureReason;
      /** The username the credential claimed, when it named one (for logs). */
      readonly username?: string;
    };

/**
 * The verdict. `ourRows` lists, in every outcome, the indexes of the header's rows (values) that
 * are Digest credentials for our realm: the ones a proxy removes before forwarding (§22.3);
 * every other row must reach downstream untouched.
 */
export type VerifyResult = Verdict & { readonly ourRows: readonly number[] };

/** The verdict on one row of credentials for our realm. */
type RowResult = Exclude<Verdict, { outcome: 'missing' }>;

/** How long a nonce-count record outlives its HMAC nonce's expiry, to cover clock skew between workers. */
export const NONCE_RECORD_MARGIN_MS = 60_000;

const RANK: Readonly<Record<RowResult['outcome'], number>> = { ok: 4, stale: 3, replay: 2, failed: 1 };
/** Stands in for an unknown user, so that refusing one takes the work of refusing a wrong password. */
const UNKNOWN_USER: UserCredentials = { password: randomBytes(24).toString('base64url') };
const NC = /^[0-9a-fA-F]{8}$/;

/**
 * Verifies the request's Digest credentials for our realm (RFC 3261 §22, RFC 7616, RFC 8760;
 * qop=auth only). Checks, per credential row for our realm: form, algorithm, qop, uri, (HMAC mode)
 * the nonce's MAC, the user, the response in constant time, then the nonce's lifetime and count.
 * The nonce store is touched only after the response has verified. With several rows for our
 * realm, the first that verifies wins; otherwise the best outcome (stale, replay, failed) is given.
 * Errors of the user directory or nonce store (e.g. `StoreUnavailableError`) propagate.
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const { request, header, realm } = options;
  if (!request.isRequest) throw new TypeError('only requests carry credentials');
  const rows = credentialRows(request, header);
  const ourRows = ours(rows, realm);
  if (ourRows.length === 0) return { outcome: 'missing', ourRows };
  let best: RowResult | undefined;
  for (const index of ourRows) {
    const result = await verifyRow(rows[index]!, options);
    if (result.outcome === 'ok') return { ...result, ourRows };
    if (best === undefined || RANK[result.outcome] > RANK[best.outcome]) best = result;
  }
  return { ...best!, ourRows };
}

/**
 * Indexes of the header's rows that are Digest credentials for `realm` (scheme case-insensitive,
 * realm compared exactly after unquoting and UTF-8 decoding). Rows for other realms, other schemes
 * and rows that do not parse are not ours. Each row is one value: credentials are never split on
 * commas (§7.3.1).
 */
export function ourCredentialRows(request: SipMessage, header: CredentialHeader, realm: string): number[] {
  return ours(credentialRows(request, header), realm);
}

/**
 * Removes the given rows (indexes from `ourCredentialRows` / `VerifyResult.ourRows`) of the header;
 * every other row stays byte for byte where it was (line folding included).
 */
export function removeCredentialRows(request: SipMessage, header: CredentialHeader, rows: readonly number[]): void {
  // Credential headers are not comma lists (§20.7, §20.28): one value per row, so value index = row index.
  request.removeRows(header, rows);
}

/** One parsed value per row (credential headers are not list headers); null for a row that does not parse. */
function credentialRows(request: SipMessage, header: CredentialHeader): (AuthValue | null)[] {
  return request.values(header).map((value) => {
    try {
      return parseAuth(value);
    } catch (e) {
      if (e instanceof SipSyntaxError) return null;
      throw e;
    }
  });
}

function ours(rows: readonly (AuthValue | null)[], realm: string): number[] {
  const out: number[] = [];
  rows.forEach((auth, i) => {
    if (auth === null || auth.scheme.toLowerCase() !== 'digest') return;
    const theirs = authParam(auth, 'realm');
    if (theirs !== undefined && decodeUtf8(theirs) === realm) out.push(i);
  });
  return out;
}

async function verifyRow(auth: AuthValue, options: VerifyOptions): Promise<RowResult> {
  const param = (name: string): string | undefined => authParam(auth, name);
  // Header text is binary (latin1): these are the bytes the UA hashed.
  const usernameRaw = param('username');
  const username = usernameRaw === undefined ? undefined : decodeUtf8(usernameRaw);
  const fail = (reason: FailureReason): RowResult =>
    username === undefined ? { outcome: 'failed', reason } : { outcome: 'failed', reason, username };

  if (param('userhash')?.toLowerCase() === 'true') return fail('unsupported-userhash');
  const realmRaw = param('realm')!;
  const nonce = param('nonce');
  const uri = param('uri');
  const response = param('response');
  if (!usernameRaw || username === undefined || !nonce || uri === undefined || response === undefined) {
    return fail('malformed');
  }
  const algorithm = parseAlgorithm(param('algorithm'));
  if (algorithm === undefined) return fail('unsupported-algorithm');
  const qop = param('qop');
  if (qop === undefined) return fail('qop-missing');
  if (qop.toLowerCase() !== 'auth') return fail('unsupported-qop');
  const nc = param('nc');
  const cnonce = param('cnonce');
  if (nc === undefined || !NC.test(nc) || !cnonce) return fail('malformed');
  const count = parseInt(nc, 16);
  if (count === 0) return fail('malformed');
  // The digest covers `uri` as the UA wrote it; it must name this request (RFC 7616 §3.4.6).
  if (uri !== options.request.requestUriText) return fail('uri-mismatch');

  const now = options.now ?? Date.now();
  let expiresAt: number | undefined;
  if (options.hmac !== undefined) {
    const check = checkHmacNonce(options.hmac, options.realm, nonce);
    if (!check.valid) return fail('nonce-invalid');
    expiresAt = check.expiresAt;
  }

  const credentials = await options.users.lookup(username, options.realm);
  // No user enumeration by timing: an unknown user costs the same hashing and comparison as a
  // user with a password who gave a wrong one (the outcome differs only in this result's reason).
  const known = credentials ?? UNKNOWN_USER;
  const ha1 = ha1For(known, algorithm, usernameRaw, realmRaw);
  if (ha1 === undefined) return fail('no-credentials-for-algorithm');
  const method = options.method ?? options.request.method;
  const expected = computeResponse({ algorithm, ha1, nonce, nc, cnonce, qop, method, uri });
  const matches = sameHex(expected, response);
  if (credentials === null) return fail('unknown-user');
  if (!matches) return fail('wrong-response');

  // Verified: only now is the clock checked and the nonce store touched.
  if (expiresAt !== undefined && expiresAt <= now) return { outcome: 'stale', username };
  let use = await options.nonceStore.use(nonce, count);
  if (use === 'unknown' && expiresAt !== undefined) {
    // HMAC mode: the nonce's first verified use creates its count record (SET NX, so concurrent
    // first uses still race on the atomic `use`), living until the nonce expires plus a margin.
    await options.nonceStore.issue(nonce, Math.ceil(expiresAt - now) + NONCE_RECORD_MARGIN_MS);
    use = await options.nonceStore.use(nonce, count);
  }
  if (use === 'unknown') return { outcome: 'stale', username };
  if (use === 'replay') return { outcome: 'replay', username };
  return { outcome: 'ok', username, algorithm };
}

function ha1For(
  credentials: UserCredentials,
  algorithm: DigestAlgorithm,
  usernameRaw: string,
  realmRaw: string,
): string | undefined {
  if ('password' in credentials) {
    return digestHash(algorithm, [usernameRaw, realmRaw, encodeUtf8(credentials.password)]);
  }
  return algorithm === 'MD5' ? credentials.ha1.md5 : credentials.ha1.sha256;
}

/** Constant-time comparison of hex digests (the UA's hex is accepted in either case). */
function sameHex(expected: string, given: string): boolean {
  if (given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(given.toLowerCase(), 'latin1'));
}
