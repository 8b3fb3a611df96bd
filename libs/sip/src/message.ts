import { SipParseError } from './errors.js';
import { canonicalName, headerKey, isListHeader } from './header-names.js';
import {
  type AuthValue,
  type CSeq,
  parseAuth,
  parseCSeq,
  parseDeltaSeconds,
  parseOptionTag,
  parseUnsigned,
} from './header-values.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { SyntaxError, splitList } from './scanner.js';
import { type Uri, parseUri } from './uri.js';
import { type Via, parseVia } from './via.js';

/**
 * One header row as it appears in the message. Rows are replaced, never changed in place, so a
 * cloned message can share them.
 */
export interface HeaderRow {
  /** Name as written in the message (or the canonical name for rows added by code). */
  readonly name: string;
  /** Lower-case long name (compact forms expanded, §7.3.3). */
  readonly key: string;
  /** Value with line folds replaced by a space and surrounding whitespace removed (§7.3.1). */
  readonly value: string;
  /** The row exactly as received (folds included, no final CRLF); null for added or changed rows. */
  readonly raw: string | null;
}

export interface RequestLine {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
}

export interface StatusLine {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
}

export type StartLine = ({ kind: 'request' } & RequestLine) | ({ kind: 'response' } & StatusLine);

/** A Contact value: a name-addr with parameters, or the wildcard `*` (§10.2.2). */
export type ContactValue = NameAddr | '*';

const CRLF = '\r\n';

/**
 * A SIP request or response (RFC 3261 §7). Holds the start line, the header rows in order and the
 * body. Header text is kept as a binary string (latin1, one character per byte), which makes the
 * message lossless: `toBuffer()` returns the bytes received unless something was changed, and then
 * re-renders only the changed rows. Typed values (Via, From, CSeq, ...) are parsed on first use
 * and cached until their rows change.
 */
export class SipMessage {
  private startLine: StartLine;
  private startLineRaw: string | null;
  private rowList: HeaderRow[];
  private bodyBytes: Buffer;
  /** The message's bytes as received; dropped at the first change. */
  private original: Buffer | null;
  private readonly slots = new TypedSlots();

  constructor(
    startLine: StartLine,
    rows: HeaderRow[],
    body: Buffer,
    original: Buffer | null = null,
    rawStart?: string,
  ) {
    this.startLine = startLine;
    this.startLineRaw = rawStart ?? null;
    this.rowList = rows;
    this.bodyBytes = body;
    this.original = original;
  }

  /**
   * Sets the body and the received bytes once framing is known (parser only): the message is
   * created before framing so that framing errors can carry it.
   * @internal
   */
  attachReceived(body: Buffer, original: Buffer): void {
    this.bodyBytes = body;
    this.original = original;
  }

  // ---- start line -------------------------------------------------------------------------------

  get isRequest(): boolean {
    return this.startLine.kind === 'request';
  }

  get isResponse(): boolean {
    return this.startLine.kind === 'response';
  }

  /** Request method; for a response, the method of its CSeq. */
  get method(): string {
    return this.startLine.kind === 'request' ? this.startLine.method : this.cseq.method;
  }

  /** Request-URI as written (requests only; '' for responses). */
  get requestUriText(): string {
    return this.startLine.kind === 'request' ? this.startLine.uri : '';
  }

  /** The parsed Request-URI. Throws for responses. */
  get requestUri(): Uri {
    if (this.startLine.kind !== 'request') throw new TypeError('a response has no Request-URI');
    return (this.slots.requestUri ??= this.parseTyped('Request-URI', parseUri, this.requestUriText));
  }

  get status(): number {
    return this.startLine.kind === 'response' ? this.startLine.status : 0;
  }

  get reason(): string {
    return this.startLine.kind === 'response' ? this.startLine.reason : '';
  }

  get version(): string {
    return this.startLine.version;
  }

  get start(): StartLine {
    return this.startLine;
  }

  setRequestUri(uri: Uri | string): void {
    if (this.startLine.kind !== 'request') throw new TypeError('a response has no Request-URI');
    this.startLine = { ...this.startLine, uri: uri.toString() };
    this.startLineRaw = null;
    this.slots.requestUri = undefined;
    this.changed();
  }

  // ---- raw header access ------------------------------------------------------------------------

  get rows(): readonly HeaderRow[] {
    return this.rowList;
  }

  has(name: string): boolean {
    return this.firstRow(headerKey(name)) !== undefined;
  }

  /** All values of a header in order; list headers (§7.3.1) are split at commas, others one per row. */
  values(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const split = isListHeader(key);
    for (const row of this.rowList) {
      if (row.key !== key) continue;
      if (split) out.push(...splitList(row.value));
      else out.push(row.value);
    }
    return out;
  }

  /** The first value of a header (first list element for list headers), or undefined. */
  getFirstRaw(name: string): string | undefined {
    const key = headerKey(name);
    const row = this.firstRow(key);
    if (row === undefined) return undefined;
    return isListHeader(key) ? splitList(row.value)[0] : row.value;
  }

  /** Alias of `getFirstRaw` for readability at call sites. */
  get(name: string): string | undefined {
    return this.getFirstRaw(name);
  }

  // ---- typed accessors (RFC 3261 §20) -------------------------------------------------------------
  // Each value is parsed on first use and kept in its slot until a row of that header changes.

  get vias(): Via[] {
    return (this.slots.via ??= this.readList('via', 'Via', parseVia));
  }

  get topVia(): Via | undefined {
    return this.vias[0];
  }

  get from(): NameAddr {
    return (this.slots.from ??= this.readRequired('from', 'From', parseNameAddr));
  }

  get to(): NameAddr {
    return (this.slots.to ??= this.readRequired('to', 'To', parseNameAddr));
  }

  get callId(): string {
    return this.required('call-id');
  }

  get cseq(): CSeq {
    return (this.slots.cseq ??= this.readRequired('cseq', 'CSeq', parseCSeq));
  }

  /** Max-Forwards (§20.22, 0–255), or undefined when absent. */
  get maxForwards(): number | undefined {
    return (this.slots['max-forwards'] ??= this.readOptional('max-forwards', 'Max-Forwards', parseMaxForwards));
  }

  /** Content-Length as written, or undefined when absent. */
  get contentLength(): number | undefined {
    return (this.slots['content-length'] ??= this.readOptional('content-length', 'Content-Length', parseLength));
  }

  /** Expires in seconds (§20.19), or undefined when absent. */
  get expires(): number | undefined {
    return (this.slots.expires ??= this.readOptional('expires', 'Expires', parseExpires));
  }

  get contacts(): ContactValue[] {
    return (this.slots.contact ??= this.readList('contact', 'Contact', parseContact));
  }

  get routes(): NameAddr[] {
    return (this.slots.route ??= this.readList('route', 'Route', parseNameAddr));
  }

  get recordRoutes(): NameAddr[] {
    return (this.slots['record-route'] ??= this.readList('record-route', 'Record-Route', parseNameAddr));
  }

  get require(): string[] {
    return (this.slots.require ??= this.readList('require', 'Require', parseOptionTag));
  }

  get proxyRequire(): string[] {
    return (this.slots['proxy-require'] ??= this.readList('proxy-require', 'Proxy-Require', parseOptionTag));
  }

  get supported(): string[] {
    return (this.slots.supported ??= this.readList('supported', 'Supported', parseOptionTag));
  }

  get authorizations(): AuthValue[] {
    return (this.slots.authorization ??= this.readList('authorization', 'Authorization', parseAuth));
  }

  get proxyAuthorizations(): AuthValue[] {
    return (this.slots['proxy-authorization'] ??= this.readList(
      'proxy-authorization',
      'Proxy-Authorization',
      parseAuth,
    ));
  }

  get wwwAuthenticates(): AuthValue[] {
    return (this.slots['www-authenticate'] ??= this.readList('www-authenticate', 'WWW-Authenticate', parseAuth));
  }

  get proxyAuthenticates(): AuthValue[] {
    return (this.slots['proxy-authenticate'] ??= this.readList('proxy-authenticate', 'Proxy-Authenticate', parseAuth));
  }

  // ---- body -------------------------------------------------------------------------------------

  get body(): Buffer {
    return this.bodyBytes;
  }

  /** Replaces the body and recomputes Content-Length (§20.14). */
  set body(body: Buffer) {
    this.bodyBytes = body;
    this.set('content-length', String(body.length));
  }

  /** Adds Content-Length when absent, as stream transports require it (§18.3, §16.6 step 9). */
  ensureContentLength(): void {
    if (!this.has('content-length')) this.set('content-length', String(this.bodyBytes.length));
  }

  // ---- changes ----------------------------------------------------------------------------------

  /** Inserts a value above the existing ones (as a new row before the first row of that header). */
  prepend(name: string, value: string): void {
    const key = headerKey(name);
    const row = newRow(name, value);
    const at = this.rowList.findIndex((r) => r.key === key);
    this.rowList = at < 0 ? [row, ...this.rowList] : [...this.rowList.slice(0, at), row, ...this.rowList.slice(at)];
    this.changedHeader(key);
  }

  /** Adds a row after all others. */
  append(name: string, value: string): void {
    this.rowList = [...this.rowList, newRow(name, value)];
    this.changedHeader(headerKey(name));
  }

  /** Replaces every row of the header by one row (placed where the first one was, else appended). */
  set(name: string, value: string): void {
    const key = headerKey(name);
    const at = this.rowList.findIndex((r) => r.key === key);
    if (at < 0) {
      this.append(name, value);
      return;
    }
    const kept = this.rowList[at]!;
    const row: HeaderRow = { name: kept.name, key, value, raw: null };
    this.rowList = this.rowList.filter((r, i) => i === at || r.key !== key).map((r, i) => (i === at ? row : r));
    this.changedHeader(key);
  }

  /** Removes every row of the header. */
  remove(name: string): void {
    const key = headerKey(name);
    const next = this.rowList.filter((r) => r.key !== key);
    if (next.length !== this.rowList.length) {
      this.rowList = next;
      this.changedHeader(key);
    }
  }

  /**
   * Removes rows of a header by their position among that header's rows (0 = its first row); every
   * other row keeps its bytes and place (e.g. our realm's Proxy-Authorization rows, §22.3).
   */
  removeRows(name: string, positions: readonly number[]): void {
    const key = headerKey(name);
    let position = -1;
    const next = this.rowList.filter((r) => r.key !== key || !positions.includes(++position));
    if (next.length !== this.rowList.length) {
      this.rowList = next;
      this.changedHeader(key);
    }
  }

  /**
   * Removes the first value of a header (e.g. our own Route, §16.4, or the top Via of a response,
   * §16.7 step 3). Other values in the same row keep their text. Returns the removed value.
   */
  removeFirst(name: string): string | undefined {
    return this.editFirst(name, null);
  }

  /** Replaces the first value of a header, re-rendering only its row (e.g. received/rport, §18.2.1). */
  replaceFirst(name: string, value: string): string | undefined {
    return this.editFirst(name, value);
  }

  private editFirst(name: string, value: string | null): string | undefined {
    const key = headerKey(name);
    const at = this.rowList.findIndex((r) => r.key === key);
    if (at < 0) return undefined;
    const row = this.rowList[at]!;
    const parts = isListHeader(key) ? splitList(row.value) : [row.value];
    const removed = parts.shift();
    if (value !== null) parts.unshift(value);
    const next = [...this.rowList];
    if (parts.length === 0) next.splice(at, 1);
    else next[at] = { name: row.name, key, value: parts.join(', '), raw: null };
    this.rowList = next;
    this.changedHeader(key);
    return removed;
  }

  /** A copy that can be changed independently (for forking: one copy per branch, §16.6 step 1). */
  clone(): SipMessage {
    return new SipMessage(
      this.startLine,
      [...this.rowList],
      this.bodyBytes,
      this.original,
      this.startLineRaw ?? undefined,
    );
  }

  // ---- serialisation ----------------------------------------------------------------------------

  /** The message on the wire: byte-identical to what was parsed unless something was changed. */
  toBuffer(): Buffer {
    if (this.original !== null) return this.original;
    let head = this.renderStartLine() + CRLF;
    for (const row of this.rowList) head += (row.raw ?? `${row.name}: ${row.value}`) + CRLF;
    head += CRLF;
    const headLength = head.length;
    const out = Buffer.allocUnsafe(headLength + this.bodyBytes.length);
    out.write(head, 0, headLength, 'latin1');
    this.bodyBytes.copy(out, headLength);
    this.original = out;
    return out;
  }

  /** The message as text (header bytes decoded as UTF-8); for logs and tests. */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  private renderStartLine(): string {
    if (this.startLineRaw !== null) return this.startLineRaw;
    const s = this.startLine;
    return s.kind === 'request' ? `${s.method} ${s.uri} ${s.version}` : `${s.version} ${s.status} ${s.reason}`;
  }

  private changedHeader(key: string): void {
    if (key in this.slots) (this.slots as unknown as Record<string, undefined>)[key] = undefined;
    this.changed();
  }

  private changed(): void {
    this.original = null;
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private firstRow(key: string): HeaderRow | undefined {
    const rows = this.rowList;
    for (let i = 0; i < rows.length; i++) if (rows[i]!.key === key) return rows[i];
    return undefined;
  }

  private required(key: string): string {
    const row = this.firstRow(key);
    if (row === undefined) {
      throw new SipParseError('missing-header', `Missing ${canonicalName(key)}`, {
        partial: this,
        header: canonicalName(key),
        status: this.isRequest ? 400 : undefined,
      });
    }
    return row.value;
  }

  /** Every value of a list header (or one per row), each parsed. */
  private readList<T>(key: string, header: string, parse: (value: string) => T): T[] {
    const out: T[] = [];
    const split = isListHeader(key);
    const rows = this.rowList;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row.key !== key) continue;
      if (split && row.value.indexOf(',') >= 0) {
        for (const part of splitList(row.value)) out.push(this.parseTyped(header, parse, part));
      } else out.push(this.parseTyped(header, parse, row.value));
    }
    return out;
  }

  private readRequired<T>(key: string, header: string, parse: (value: string) => T): T {
    return this.parseTyped(header, parse, this.required(key));
  }

  private readOptional<T>(key: string, header: string, parse: (value: string) => T): T | undefined {
    const row = this.firstRow(key);
    return row === undefined ? undefined : this.parseTyped(header, parse, row.value);
  }

  /** Runs a value parser; a syntax error becomes a SipParseError naming the header. */
  private parseTyped<T>(header: string, parse: (value: string) => T, value: string): T {
    try {
      return parse(value);
    } catch (e) {
      if (e instanceof SyntaxError) {
        throw new SipParseError(
          'bad-header-value',
          `Bad ${header}: ${e.message}`,
          {
            partial: this,
            header,
            status: this.isRequest ? 400 : undefined,
          },
          { cause: e },
        );
      }
      throw e;
    }
  }
}

/** A new header row rendered as `Name: value` with the canonical name. */
export function newRow(name: string, value: string): HeaderRow {
  return { name: canonicalName(name), key: headerKey(name), value, raw: null };
}

function parseContact(value: string): ContactValue {
  return value === '*' ? '*' : parseNameAddr(value);
}

const parseMaxForwards = (v: string) => parseUnsigned(v, 255, 'Max-Forwards');
const parseLength = (v: string) => parseUnsigned(v, 2 ** 32 - 1, 'Content-Length');
const parseExpires = (v: string) => parseDeltaSeconds(v, 'Expires');

/** Parsed header values by header key; undefined until read (and again after the header changes). */
class TypedSlots {
  requestUri: Uri | undefined = undefined;
  via: Via[] | undefined = undefined;
  from: NameAddr | undefined = undefined;
  to: NameAddr | undefined = undefined;
  cseq: CSeq | undefined = undefined;
  'max-forwards': number | undefined = undefined;
  'content-length': number | undefined = undefined;
  expires: number | undefined = undefined;
  contact: ContactValue[] | undefined = undefined;
  route: NameAddr[] | undefined = undefined;
  'record-route': NameAddr[] | undefined = undefined;
  require: string[] | undefined = undefined;
  'proxy-require': string[] | undefined = undefined;
  supported: string[] | undefined = undefined;
  authorization: AuthValue[] | undefined = undefined;
  'proxy-authorization': AuthValue[] | undefined = undefined;
  'www-authenticate': AuthValue[] | undefined = undefined;
  'proxy-authenticate': AuthValue[] | undefined = undefined;
}
