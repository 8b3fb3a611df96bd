import {
  HNVCHAR,
  HOSTNAME,
  IPV6,
  PARAMCHAR,
  PASSWORD,
  SCHEME,
  TEL,
  USER,
  isDigits,
  isEscapedRun,
  unescape,
} from './charsets.js';
import { type Param, Params } from './params.js';
import { SyntaxError } from './scanner.js';

export type HostType = 'ipv4' | 'ipv6' | 'name';

export interface SipUriParts {
  scheme: 'sip' | 'sips';
  /** userinfo user part as written (escapes kept); null when the URI has no userinfo. */
  user: string | null;
  password: string | null;
  /** Host as written; IPv6 references keep their brackets. */
  host: string;
  port: number | null;
  params: Params;
  /** URI headers (`?name=value&...`) as written. */
  headers: readonly Param[];
}

/** A sip: or sips: URI (RFC 3261 §19.1). Immutable; `with` returns a modified copy. */
export class SipUri implements SipUriParts {
  readonly kind = 'sip' as const;
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  readonly password: string | null;
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  readonly headers: readonly Param[];
  private readonly raw: string | undefined;

  constructor(parts: SipUriParts, raw?: string) {
    this.scheme = parts.scheme;
    this.user = parts.user;
    this.password = parts.password;
    this.host = parts.host;
    this.port = parts.port;
    this.params = parts.params;
    this.headers = parts.headers;
    this.raw = raw;
  }

  get secure(): boolean {
    return this.scheme === 'sips';
  }

  get hostType(): HostType {
    return hostType(this.host);
  }

  /** Host without IPv6 brackets, lower-cased: what DNS or a socket needs. */
  get hostname(): string {
    const h = this.host.charCodeAt(0) === 0x5b ? this.host.slice(1, -1) : this.host;
    return h.toLowerCase();
  }

  get transport(): string | undefined {
    return this.params.text('transport')?.toLowerCase();
  }

  get maddr(): string | undefined {
    return this.params.text('maddr');
  }

  /** True when the URI carries the `lr` parameter (loose router, §19.1.1). */
  get lr(): boolean {
    return this.params.has('lr');
  }

  with(changes: Partial<SipUriParts>): SipUri {
    return new SipUri({ ...this, ...changes });
  }

  toString(): string {
    if (this.raw !== undefined) return this.raw;
    let s = `${this.scheme}:`;
    if (this.user !== null) s += this.password === null ? `${this.user}@` : `${this.user}:${this.password}@`;
    s += this.host;
    if (this.port !== null) s += `:${this.port}`;
    s += this.params.toString();
    if (this.headers.length > 0) s += '?' + this.headers.map((h) => `${h.name}=${h.value ?? ''}`).join('&');
    return s;
  }
}

/** A tel: URI (RFC 3966): the number as written plus its parameters. */
export class TelUri {
  readonly kind = 'tel' as const;
  readonly scheme = 'tel';
  constructor(
    readonly number: string,
    readonly params: Params,
    private readonly raw?: string,
  ) {}

  get global(): boolean {
    return this.number.startsWith('+');
  }

  toString(): string {
    return this.raw ?? `tel:${this.number}${this.params.toString()}`;
  }
}

/** Any other absolute URI (RFC 3261 §25.1 absoluteURI), kept opaque: it parses, and §16.3 answers 416. */
export class AbsoluteUri {
  readonly kind = 'absolute' as const;
  constructor(
    readonly scheme: string,
    readonly rest: string,
  ) {}

  toString(): string {
    return `${this.scheme}:${this.rest}`;
  }
}

export type Uri = SipUri | TelUri | AbsoluteUri;

/** Parses a URI; throws SyntaxError (wrapped into SipParseError by the message parser). */
export function parseUri(text: string): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new SyntaxError('URI has no scheme');
  const scheme = text.slice(0, colon);
  if (!isSchemeName(scheme)) throw new SyntaxError(`bad URI scheme "${scheme}"`);
  const lower = scheme.toLowerCase();
  const rest = text.slice(colon + 1);
  if (lower === 'sip' || lower === 'sips') return parseSipUri(lower, rest, text);
  if (lower === 'tel') return parseTelUri(rest, text);
  return parseAbsoluteUri(scheme, rest);
}

/** Parses a URI that must be sip: or sips:. */
export function parseSipUriStrict(text: string): SipUri {
  const uri = parseUri(text);
  if (uri.kind !== 'sip') throw new SyntaxError('expected a sip: or sips: URI');
  return uri;
}

function isSchemeName(s: string): boolean {
  const c = s.charCodeAt(0) | 0x20;
  if (c < 0x61 || c > 0x7a) return false;
  for (let i = 1; i < s.length; i++) if (SCHEME[s.charCodeAt(i)] !== 1) return false;
  return true;
}

function parseSipUri(scheme: 'sip' | 'sips', rest: string, raw: string): SipUri {
  let user: string | null = null;
  let password: string | null = null;
  let pos = 0;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pw = userinfo.indexOf(':');
    user = pw < 0 ? userinfo : userinfo.slice(0, pw);
    password = pw < 0 ? null : userinfo.slice(pw + 1);
    if (user.length === 0 || !isEscapedRun(user, USER)) throw new SyntaxError('bad user part in URI');
    if (password !== null && !isEscapedRun(password, PASSWORD)) throw new SyntaxError('bad password in URI');
    pos = at + 1;
  }
  let host: string;
  if (rest.charCodeAt(pos) === 0x5b) {
    const close = rest.indexOf(']', pos);
    if (close < 0) throw new SyntaxError('unterminated IPv6 reference in URI');
    host = rest.slice(pos, close + 1);
    if (!isIpv6Reference(host)) throw new SyntaxError('bad IPv6 reference in URI');
    pos = close + 1;
  } else {
    const start = pos;
    while (pos < rest.length && HOSTNAME[rest.charCodeAt(pos)] === 1) pos++;
    host = rest.slice(start, pos);
    if (host.length === 0) throw new SyntaxError('URI has no host');
  }
  let port: number | null = null;
  if (rest.charCodeAt(pos) === 0x3a) {
    const start = ++pos;
    while (pos < rest.length && rest.charCodeAt(pos) >= 0x30 && rest.charCodeAt(pos) <= 0x39) pos++;
    port = parsePort(rest.slice(start, pos));
  }
  const q = rest.indexOf('?', pos);
  const paramText = q < 0 ? rest.slice(pos) : rest.slice(pos, q);
  if (paramText.length > 0 && paramText.charCodeAt(0) !== 0x3b) {
    throw new SyntaxError(`unexpected "${paramText.slice(0, 12)}" after URI host`);
  }
  const params = paramText.length === 0 ? Params.EMPTY : parseUriParams(paramText.slice(1));
  const headers = q < 0 ? [] : parseUriHeaders(rest.slice(q + 1));
  return new SipUri({ scheme, user, password, host, port, params, headers }, raw);
}

function parsePort(digits: string): number {
  if (!isDigits(digits) || digits.length > 5) throw new SyntaxError('bad port in URI');
  const port = Number(digits);
  if (port > 65535) throw new SyntaxError('port out of range in URI');
  return port;
}

function parseUriParams(text: string): Params {
  const list: Param[] = [];
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf(';', pos);
    if (end < 0) end = text.length;
    const part = text.slice(pos, end);
    pos = end + 1;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? null : part.slice(eq + 1);
    if (name.length === 0 || !isEscapedRun(name, PARAMCHAR)) throw new SyntaxError('bad URI parameter');
    if (value !== null && (value.length === 0 || !isEscapedRun(value, PARAMCHAR))) {
      throw new SyntaxError(`bad value of URI parameter "${name}"`);
    }
    list.push({ name, value });
  }
  return new Params(list);
}

function parseUriHeaders(text: string): Param[] {
  return text.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SyntaxError('bad URI header');
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!isEscapedRun(name, HNVCHAR) || (value.length > 0 && !isEscapedRun(value, HNVCHAR))) {
      throw new SyntaxError('bad URI header');
    }
    return { name, value };
  });
}

function parseTelUri(rest: string, raw: string): TelUri {
  if (rest.length === 0) throw new SyntaxError('empty tel URI');
  for (let i = 0; i < rest.length; i++) if (TEL[rest.charCodeAt(i)] !== 1) throw new SyntaxError('bad tel URI');
  const semi = rest.indexOf(';');
  const number = semi < 0 ? rest : rest.slice(0, semi);
  if (number.length === 0) throw new SyntaxError('tel URI has no number');
  const params = semi < 0 ? Params.EMPTY : parseUriParams(rest.slice(semi + 1));
  return new TelUri(number, params, raw);
}

function parseAbsoluteUri(scheme: string, rest: string): AbsoluteUri {
  if (rest.length === 0) throw new SyntaxError('empty URI');
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    // uric excludes controls, space, DQUOTE, "<", ">", "\", "^", "`", "{", "|", "}" (RFC 2396 §2.4.3).
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x3c || c === 0x3e) throw new SyntaxError('bad URI');
  }
  return new AbsoluteUri(scheme, rest);
}

export function hostType(host: string): HostType {
  if (host.charCodeAt(0) === 0x5b) return 'ipv6';
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? 'ipv4' : 'name';
}

function isIpv6Reference(host: string): boolean {
  if (host.length < 4) return false;
  for (let i = 1; i < host.length - 1; i++) if (IPV6[host.charCodeAt(i)] !== 1) return false;
  return host.indexOf(':') > 0;
}

/** The `sent-by`/host as a socket wants it: IPv6 without brackets. */
export function stripBrackets(host: string): string {
  return host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

/** Parameters whose presence in only one of two URIs makes them unequal (§19.1.4). */
const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

/**
 * URI equivalence. sip/sips per RFC 3261 §19.1.4: userinfo case-sensitive and everything else
 * case-insensitive, escapes equivalent to the characters they encode, parameter and header order
 * insignificant. tel per RFC 3966 §4: visual separators ignored. Other schemes: exact apart from
 * the scheme's case.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind === 'sip' && b.kind === 'sip') return sipUriEquals(a, b);
  if (a.kind === 'tel' && b.kind === 'tel') return telUriEquals(a, b);
  if (a.kind === 'absolute' && b.kind === 'absolute') {
    return a.scheme.toLowerCase() === b.scheme.toLowerCase() && a.rest === b.rest;
  }
  return false;
}

function sipUriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (!sameOptional(a.user, b.user, (x, y) => unescape(x) === unescape(y))) return false;
  if (!sameOptional(a.password, b.password, (x, y) => unescape(x) === unescape(y))) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  for (const p of a.params.list) {
    const other = b.params.get(p.name);
    if (other === undefined) {
      if (SIGNIFICANT_PARAMS.includes(p.name.toLowerCase())) return false;
    } else if (!sameOptional(p.value, other, (x, y) => unescape(x).toLowerCase() === unescape(y).toLowerCase())) {
      return false;
    }
  }
  for (const p of b.params.list) {
    if (!a.params.has(p.name) && SIGNIFICANT_PARAMS.includes(p.name.toLowerCase())) return false;
  }
  return headersEqual(a.headers, b.headers);
}

function headersEqual(a: readonly Param[], b: readonly Param[]): boolean {
  if (a.length !== b.length) return false;
  const key = (p: Param) => `${unescape(p.name).toLowerCase()}=${unescape(p.value ?? '')}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}

function sameOptional<T>(x: T | null, y: T | null, eq: (x: T, y: T) => boolean): boolean {
  if (x === null || y === null) return x === y;
  return eq(x, y);
}

function telUriEquals(a: TelUri, b: TelUri): boolean {
  const digits = (n: string) => n.replace(/[-.()]/g, '').toLowerCase();
  if (digits(a.number) !== digits(b.number) || a.params.size !== b.params.size) return false;
  return a.params.list.every((p) => {
    const other = b.params.get(p.name);
    return other !== undefined && (other ?? '').toLowerCase() === (p.value ?? '').toLowerCase();
  });
}
