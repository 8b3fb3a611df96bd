import { type AuthValue, encodeUtf8, quote, unquote } from '@sipedge/sip';
import { type DigestAlgorithm, computeHa1, computeResponse, parseAlgorithm } from './algorithms.js';

export interface CredentialInput {
  /** Readable text (hashed and written as UTF-8). */
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  /** From the challenge, as written. */
  readonly nonce: string;
  readonly method: string;
  /** The Request-URI as written. */
  readonly uri: string;
  /** Default MD5 (RFC 7616 §3.3). */
  readonly algorithm?: DigestAlgorithm;
  /** Nonce count; default 1. */
  readonly nc?: number;
  readonly cnonce: string;
  readonly opaque?: string;
}

/**
 * The UA side: an Authorization / Proxy-Authorization value answering a challenge with qop=auth
 * (RFC 7616 §3.4). For tests and tools; the value is in the binary (latin1) form of header text.
 */
export function buildCredentials(input: CredentialInput): string {
  const algorithm = input.algorithm ?? 'MD5';
  const nc = (input.nc ?? 1).toString(16).padStart(8, '0');
  const ha1 = computeHa1(algorithm, input.username, input.realm, input.password);
  const response = computeResponse({
    algorithm,
    ha1,
    nonce: input.nonce,
    nc,
    cnonce: input.cnonce,
    qop: 'auth',
    method: input.method,
    uri: input.uri,
  });
  const parts = [
    `username=${quote(encodeUtf8(input.username))}`,
    `realm=${quote(encodeUtf8(input.realm))}`,
    `nonce=${quote(input.nonce)}`,
    `uri=${quote(input.uri)}`,
    `response="${response}"`,
    `algorithm=${algorithm}`,
    `cnonce=${quote(input.cnonce)}`,
    ...(input.opaque === undefined ? [] : [`opaque=${quote(input.opaque)}`]),
    'qop=auth',
    `nc=${nc}`,
  ];
  return `Digest ${parts.join(', ')}`;
}

/** What the UA adds to a challenge to answer it. */
export type ChallengeAnswer = Omit<CredentialInput, 'realm' | 'nonce' | 'algorithm' | 'opaque'>;

/**
 * Credentials answering a WWW-Authenticate or Proxy-Authenticate challenge (RFC 7616 §3.4): its
 * realm, nonce, algorithm and opaque, with the UA's identity, request and cnonce.
 */
export function answerChallenge(challenge: AuthValue, answer: ChallengeAnswer): string {
  const param = (name: string) => {
    const value = challenge.params.get(name);
    return value === undefined ? undefined : unquote(value);
  };
  const [realm, nonce, opaque] = ['realm', 'nonce', 'opaque'].map(param);
  if (realm === undefined || nonce === undefined) throw new Error('the challenge has no realm or nonce');
  const algorithm = parseAlgorithm(param('algorithm'));
  if (algorithm === undefined) throw new Error(`the challenge's algorithm ${param('algorithm')} is not supported`);
  return buildCredentials({ ...answer, realm, nonce, algorithm, ...(opaque === undefined ? {} : { opaque }) });
}
