import { TOKEN, isDigits, isToken } from './charsets.js';
import { Scanner, SyntaxError, splitList, unquote } from './scanner.js';

/** A Call-ID value (§20.8, §25.1 `callid`) as read from its row: not empty, no whitespace. */
export function isCallId(value: string): boolean {
  return value.length > 0 && !/\s/.test(value);
}

/** CSeq (RFC 3261 §20.16): sequence number below 2^31 (§8.1.1.5) and a method. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

const CSEQ_LIMIT = 2 ** 31;

export function parseCSeq(value: string): CSeq {
  const sc = new Scanner(value);
  sc.skipLws();
  const digits = sc.run(DIGIT_SET, 'CSeq number');
  const seq = parseDecimal(digits);
  if (seq >= CSEQ_LIMIT) throw new SyntaxError('CSeq number must be below 2^31');
  // CSeq = 1*DIGIT LWS Method (§20.16): the LWS is required.
  const c = sc.peek();
  if (c !== 0x20 && c !== 0x09) throw new SyntaxError('expected whitespace between CSeq number and method');
  const method = sc.token('CSeq method');
  sc.end('CSeq');
  return { seq, method };
}

export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}

const DIGIT_SET = new Uint8Array(256).fill(1, 0x30, 0x3a);

/** Decimal with leading zeros allowed (RFC 4475 §3.1.1.1); very long inputs become Infinity-safe. */
function parseDecimal(digits: string): number {
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 0x30) start++;
  return digits.length - start > 15 ? Number.MAX_SAFE_INTEGER : Number(start === 0 ? digits : digits.slice(start));
}

/**
 * A non-negative integer header value (Max-Forwards, Content-Length, Expires, Min-Expires):
 * 1*DIGIT with leading zeros; `max` bounds it (values above throw).
 */
export function parseUnsigned(value: string, max: number, what: string): number {
  const v = value.trim();
  if (!isDigits(v)) throw new SyntaxError(`${what} must be a non-negative integer`);
  const n = parseDecimal(v);
  if (n > max) throw new SyntaxError(`${what} must not exceed ${max}`);
  return n;
}

/** delta-seconds with the RFC 3261 §20.19 rule: values above 2^32-1 are read as 2^32-1. */
export function parseDeltaSeconds(value: string, what: string): number {
  const v = value.trim();
  if (!isDigits(v)) throw new SyntaxError(`${what} must be delta-seconds`);
  return Math.min(parseDecimal(v), 2 ** 32 - 1);
}

/** An option-tag list value (Require, Proxy-Require, Supported, Unsupported): one token. */
export function parseOptionTag(value: string): string {
  if (!isToken(value)) throw new SyntaxError(`bad option tag "${value}"`);
  return value;
}

/**
 * A credential or challenge (Authorization, Proxy-Authorization, WWW-Authenticate,
 * Proxy-Authenticate; RFC 3261 §25.1, RFC 2617). The value is one header row: it is never
 * split on commas. Parameters of the Digest form are read into a map; other schemes keep
 * their text in `rest` (RFC 4475 §3.3.7).
 */
export interface AuthValue {
  readonly scheme: string;
  /** Parameter values as written (quoted strings keep their quotes), by lower-case name. */
  readonly params: ReadonlyMap<string, string>;
  readonly rest: string;
}

export function parseAuth(value: string): AuthValue {
  const sc = new Scanner(value);
  sc.skipLws();
  const scheme = sc.run(TOKEN, 'authentication scheme');
  sc.skipLws();
  const rest = sc.rest();
  return { scheme, params: parseAuthParams(rest), rest };
}

/** Reads `name=value, name=value` auth-params; a part that is not of that form leaves the map empty. */
function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  if (text.length === 0) return params;
  for (const part of splitList(text)) {
    const sc = new Scanner(part);
    try {
      const name = sc.token('auth-param name').toLowerCase();
      sc.expect(0x3d, '"="');
      sc.skipLws();
      const v = sc.peek() === 0x22 ? sc.quoted() : sc.run(AUTH_VALUE, 'auth-param value');
      sc.end('auth-param');
      params.set(name, v);
    } catch (e) {
      if (e instanceof SyntaxError) return new Map();
      throw e;
    }
  }
  return params;
}

/** Token plus the characters that unquoted auth-param values use in practice (e.g. `nc=00000001`, base64 `=`, `/`). */
const AUTH_VALUE = (() => {
  const t = new Uint8Array(TOKEN);
  for (const c of '/=:@') t[c.charCodeAt(0)] = 1;
  return t;
})();

/** The parameter's value with quotes removed. */
export function authParam(auth: AuthValue, name: string): string | undefined {
  const v = auth.params.get(name.toLowerCase());
  return v === undefined ? undefined : unquote(v);
}
