import { TOKEN } from './charsets.js';
import { Params, scanHeaderParams } from './params.js';
import { Scanner, SyntaxError, unquote } from './scanner.js';
import { type Uri, parseUri } from './uri.js';

/**
 * A name-addr or addr-spec with header parameters: the value of From, To, Contact, Route,
 * Record-Route (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39, §25.1). Immutable.
 */
export class NameAddr {
  constructor(
    /** Display name as written: a quoted string with its quotes, or tokens separated by LWS; null when absent. */
    readonly displayName: string | null,
    readonly uri: Uri,
    readonly params: Params = Params.EMPTY,
  ) {}

  /** The display name with quotes and quoted-pair escapes removed. */
  get displayText(): string | null {
    return this.displayName === null ? null : unquote(this.displayName);
  }

  get tag(): string | undefined {
    return this.params.text('tag');
  }

  withParams(params: Params): NameAddr {
    return new NameAddr(this.displayName, this.uri, params);
  }

  withUri(uri: Uri): NameAddr {
    return new NameAddr(this.displayName, uri, this.params);
  }

  /** Always renders the name-addr form, which is valid for every URI (§20.10). */
  toString(): string {
    const name = this.displayName === null ? '' : `${this.displayName} `;
    return `${name}<${this.uri.toString()}>${this.params.toString()}`;
  }
}

/** Parses one name-addr / addr-spec value followed by header parameters. */
export function parseNameAddr(value: string): NameAddr {
  const sc = new Scanner(value);
  sc.skipLws();
  let displayName: string | null = null;
  if (sc.peek() === 0x22) {
    displayName = sc.quoted();
    sc.skipLws();
    if (sc.peek() !== 0x3c) sc.fail('expected "<" after display name');
  } else {
    displayName = scanTokenDisplayName(sc);
  }
  let uri: Uri;
  if (sc.peek() === 0x3c) {
    const close = value.indexOf('>', sc.pos);
    if (close < 0) sc.fail('unterminated "<"');
    uri = parseBracketedUri(value.slice(sc.pos + 1, close));
    sc.pos = close + 1;
  } else {
    uri = parseAddrSpec(sc);
  }
  const params = scanHeaderParams(sc);
  sc.end('parameters');
  return new NameAddr(displayName, uri, params);
}

/**
 * display-name = *(token LWS) before "<". RFC 4475 §3.1.1.6 accepts a missing LWS before "<".
 * Returns null and leaves the cursor unchanged when the value is an addr-spec.
 */
function scanTokenDisplayName(sc: Scanner): string | null {
  const start = sc.pos;
  let end = start;
  while (TOKEN[sc.peek()] === 1) {
    sc.run(TOKEN, 'display name');
    end = sc.pos;
    sc.skipLws();
  }
  if (sc.peek() === 0x3c) return end > start ? sc.text.slice(start, end) : null;
  sc.pos = start;
  return null;
}

function parseBracketedUri(text: string): Uri {
  if (text.length === 0 || text.trim() !== text) throw new SyntaxError('whitespace inside "<...>"');
  return parseUri(text);
}

/** addr-spec: the URI runs to the first ";" (which starts header params, RFC 4475 §3.3.12). */
function parseAddrSpec(sc: Scanner): Uri {
  const start = sc.pos;
  while (!sc.done && sc.peek() !== 0x3b && sc.peek() !== 0x20 && sc.peek() !== 0x09) sc.pos++;
  const text = sc.text.slice(start, sc.pos);
  if (text.length === 0) sc.fail('expected a URI');
  // §20.10: a URI containing a comma, question mark or semicolon must be enclosed in "<...>".
  if (text.includes('?') || text.includes(',')) sc.fail('URI with "?" or "," must be enclosed in "<...>"');
  return parseUri(text);
}
