/**
 * Character classes of the RFC 3261 §25.1 grammar, as 128-entry lookup tables over char codes.
 * Header text is held as a binary (latin1) string, so codes ≥ 0x80 are the bytes of UTF-8 sequences.
 */

function table(chars: string, ranges: [number, number][] = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [from, to] of ranges) for (let c = from; c <= to; c++) t[c] = 1;
  return t;
}

const ALNUM: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** word (Call-ID) = token chars plus ( ) < > : \ DQUOTE / [ ] ? { } */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}', ALNUM);
/** unreserved = alphanum / mark */
export const UNRESERVED = table("-_.!~*'()", ALNUM);
/** user = 1*( unreserved / escaped / user-unreserved ) */
export const USER = table("-_.!~*'()&=+$,;?/", ALNUM);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()&=+$,", ALNUM);
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAMCHAR = table("-_.!~*'()[]/:&+$", ALNUM);
/** hname / hvalue characters = hnv-unreserved / unreserved / escaped */
export const HNVCHAR = table("-_.!~*'()[]/?:+$", ALNUM);
/** hostname characters (alphanum, "-", "."); IPv4 uses a subset. */
export const HOSTNAME = table('-.', ALNUM);
/** Characters inside an IPv6 reference (RFC 5118 tolerates the RFC 3261 ABNF's three-colon form). */
export const IPV6 = table(':.', [
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);
/** URI scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
export const SCHEME = table('+-.', ALNUM);
/** tel URI characters after the scheme (RFC 3966): lenient, everything printable but delimiters. */
export const TEL = table("-_.!~*'()&=+$,;/:[]%#", ALNUM);
/**
 * Characters of a header parameter value: token, host (incl. bracketed IPv6) and the unbracketed
 * IPv6 form that Via's `received` allows (RFC 3261 §20.42, RFC 5118 §4.5).
 */
export const GEN_VALUE = table("-.!%*_+`'~:[]", ALNUM);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** True when every character of `s` is in `set` or is a well-formed %HH escape. */
export function isEscapedRun(s: string, set: Uint8Array): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (set[c] !== 1) return false;
  }
  return true;
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Space, horizontal tab, CR or LF (LWS after unfolding is only SP/HT; CRLF appears inside raw folds). */
export function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Decodes %HH escapes once (never recursively, RFC 4475 §3.1.1.3). The input must be well formed. */
export function unescape(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else out += s[i];
  }
  return out;
}

/** Converts a binary (latin1) header string holding UTF-8 bytes into readable text. */
export function decodeUtf8(binary: string): string {
  for (let i = 0; i < binary.length; i++) {
    if (binary.charCodeAt(i) > 0x7f) return Buffer.from(binary, 'latin1').toString('utf8');
  }
  return binary;
}

/** Converts text into the binary (latin1) form header strings are held in (UTF-8 bytes). */
export function encodeUtf8(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.from(text, 'utf8').toString('latin1');
  }
  return text;
}
