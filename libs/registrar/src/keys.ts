import { type Param, type SipUri, type TelUri, type Uri, unescape } from '@sipedge/sip';

/**
 * Canonical strings of URIs: the address-of-record index of the location service (§10.3 step 5)
 * and the identity of a registered contact (§19.1.4).
 *
 * Escapes are normalised rather than decoded: a `%HH` whose character may appear unescaped in that
 * URI component is decoded (`%61` → `a`), every other escape is kept with upper-case hex (`%3a` →
 * `%3A`, `%00` stays `%00`). For well-formed input this is a one-to-one image of "unescape
 * everything", so it has exactly the equivalence classes of §19.1.4, while the result is still
 * valid URI text: no NUL, CR, LF, `@`, `:` or `{`/`}` (a Redis hash tag delimiter) appears raw.
 */

function table(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** user = 1*( unreserved / escaped / user-unreserved ) (§25.1). */
const USER = table("-_.!~*'()&=+$,;?/");
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD = table("-_.!~*'()&=+$,");
/** paramchar = param-unreserved / unreserved / escaped */
const PARAMCHAR = table("-_.!~*'()[]/:&+$");
/** hname / hvalue = hnv-unreserved / unreserved / escaped */
const HNVCHAR = table("-_.!~*'()[]/?:+$");

const HEX = '0123456789ABCDEF';

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Decodes the escapes of characters that need none (per `allowed`) and upper-cases the hex of the rest. */
export function normaliseEscapes(s: string, allowed: Uint8Array): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      const code = parseInt(s.substr(i + 1, 2), 16);
      out += allowed[code] === 1 ? String.fromCharCode(code) : `%${HEX[code >> 4]}${HEX[code & 15]}`;
      i += 2;
    } else out += s[i];
  }
  return out;
}

/**
 * The address-of-record of a sip/sips URI in canonical form (RFC 3261 §10.3 step 5), the index of
 * the location service. The registrar files bindings under `aorOf(To URI)`; the proxy looks up
 * `aorOf(Request-URI)` (§16.5), so both must use this function.
 *
 * - `sip:` and `sips:` give the same AOR (`sip:...`): a SIPS URI names the same resource reached
 *   securely (§19.1: any SIP URI "can be upgraded to a SIPS URI by just changing the scheme"). Whether
 *   a contact may serve a `sips:` request is the proxy's decision (§16.5, §26.2.2), not the index's.
 * - URI parameters (including `user=phone`) and URI headers are removed, and so is the password.
 * - The user part keeps its case (§19.1.4); escapes are normalised (see above), so `%41lice` equals
 *   `Alice` but not `alice`.
 * - The host is lower-cased (IPv6 references keep their brackets; their text is not re-compressed).
 * - An explicit port is kept, the default port is not added or dropped: `sip:a@dom` and
 *   `sip:a@dom:5060` are different URIs in §19.1.4, and §10.3 only removes parameters and escapes.
 *
 * Returns null for tel: and other schemes, which have no AOR here.
 */
export function aorOf(uri: SipUri): string;
export function aorOf(uri: Uri): string | null;
export function aorOf(uri: Uri): string | null {
  if (uri.kind !== 'sip') return null;
  let s = 'sip:';
  if (uri.user !== null) s += `${normaliseEscapes(uri.user, USER)}@`;
  s += uri.host.toLowerCase();
  if (uri.port !== null) s += `:${uri.port}`;
  return s;
}

/**
 * The user part of a canonical AOR, unescaped (`sip:null-%00-null@example.com` → `null-\0-null`),
 * or null when the AOR has no user part.
 */
export function aorUser(aor: string): string | null {
  const colon = aor.indexOf(':');
  const at = aor.lastIndexOf('@');
  return at < 0 ? null : unescape(aor.slice(colon + 1, at));
}

/** URI parameters that make two sip/sips URIs unequal when only one of them has it (§19.1.4). */
const SIGNIFICANT_PARAMS = new Set(['user', 'ttl', 'method', 'maddr', 'transport']);

/**
 * A canonical string of a contact URI, the identity of a binding (`Binding.uriKey`): two Contact
 * URIs that are equal under §19.1.4 get the same key in the cases that occur in practice.
 *
 * sip/sips: scheme; user and password with normalised escapes, case kept; host lower-cased; port
 * as written (absent ≠ 5060); the parameters user, ttl, method, maddr, transport (names and values
 * lower-cased, escapes normalised, sorted); URI headers (names lower-cased, values case kept,
 * sorted). tel: the number without visual separators and all parameters, case-insensitively (RFC
 * 3966 §4). Other schemes: lower-cased scheme and the rest as written.
 *
 * Known limits, where a key cannot follow §19.1.4 because that relation is not transitive:
 * - Other URI parameters are ignored. §19.1.4 makes `;foo=1` and `;foo=2` unequal but either equal
 *   to a URI without `foo`; here all three share one key, so re-registering a contact that changed
 *   only such a parameter replaces the binding (whose text then carries the new parameter).
 * - IPv6 references are compared as lower-cased text: `[2001:db8::1]` and `[2001:DB8:0::1]` differ.
 * - Telephone-subscriber users (`;user=phone`) are compared as text, visual separators included.
 */
export function contactKey(uri: Uri): string {
  if (uri.kind === 'sip') return sipKey(uri);
  if (uri.kind === 'tel') return telKey(uri);
  return `${uri.scheme.toLowerCase()}:${uri.rest}`;
}

function sipKey(uri: SipUri): string {
  let s = `${uri.scheme}:`;
  if (uri.user !== null) {
    s += normaliseEscapes(uri.user, USER);
    if (uri.password !== null) s += `:${normaliseEscapes(uri.password, PASSWORD)}`;
    s += '@';
  }
  s += uri.host.toLowerCase();
  if (uri.port !== null) s += `:${uri.port}`;
  const params = uri.params.list
    .map((p) => ({ name: normaliseEscapes(p.name, PARAMCHAR).toLowerCase(), value: p.value }))
    .filter((p) => SIGNIFICANT_PARAMS.has(p.name))
    .map((p) => (p.value === null ? p.name : `${p.name}=${normaliseEscapes(p.value, PARAMCHAR).toLowerCase()}`))
    .sort();
  for (const p of params) s += `;${p}`;
  if (uri.headers.length > 0) s += `?${uri.headers.map(headerKey).sort().join('&')}`;
  return s;
}

function headerKey(h: Param): string {
  return `${normaliseEscapes(h.name, HNVCHAR).toLowerCase()}=${normaliseEscapes(h.value ?? '', HNVCHAR)}`;
}

function telKey(uri: TelUri): string {
  const number = uri.number.replace(/[-.()]/g, '').toLowerCase();
  const params = uri.params.list.map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`).toLowerCase()).sort();
  return `tel:${number}${params.map((p) => `;${p}`).join('')}`;
}
