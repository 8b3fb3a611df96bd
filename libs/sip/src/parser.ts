import { isDigits, isToken } from './charsets.js';
import { SipParseError, type SipErrorCode } from './errors.js';
import { headerKey } from './header-names.js';
import { type HeaderRow, SipMessage, type StartLine } from './message.js';
import { validateMessage } from './validate.js';

/**
 * How the message arrived: a datagram (UDP, §18.3 rules for Content-Length), a framed stream message,
 * or a WebSocket message (RFC 7118 §5: exactly one SIP message, Content-Length optional).
 */
export type Framing = 'datagram' | 'stream' | 'websocket';

export interface ParseOptions {
  /** Default 'datagram'. A 'stream' message is exactly one framed message (see StreamFramer). */
  framing?: Framing;
  /** Largest accepted message in bytes; default 65535 (the UDP maximum, §18.1.1). */
  maxSize?: number;
  /** Run the semantic checks of validate.ts (default true). */
  validate?: boolean;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65535;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Parses one message from a buffer. Throws only SipParseError, which says what is wrong, carries
 * the status to answer with (if any) and the partially read message.
 */
export function parseMessage(buf: Buffer, options: ParseOptions = {}): SipMessage {
  const maxSize = options.maxSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const start = skipLeadingCrlf(buf, 0);
  if (start >= buf.length) throw new SipParseError('empty', 'Empty message');
  const headerEnd = buf.indexOf(CRLFCRLF, start);
  const headEnd = headerEnd < 0 ? buf.length : headerEnd;
  const head = splitHead(buf.toString('latin1', start, headEnd));
  const message = new SipMessage(head.startLine, head.rows, EMPTY, null, head.startLineText);
  // Too large (§18.1.1, 513): the head is still read, so the request can be answered.
  if (buf.length > maxSize) throw withPartial(failure('too-large', 'Message Too Large', undefined, 513), message);
  if (head.error) throw withPartial(head.error, message);
  if (headerEnd < 0)
    throw withPartial(failure('unterminated-header-section', 'Header section not terminated'), message);

  const bodyStart = headerEnd + 4;
  const length = declaredLength(message, head.rows);
  const framing = options.framing ?? 'datagram';
  let bodyEnd: number;
  if (length === undefined) {
    // §18.3: without Content-Length a datagram's body is the rest of it (RFC 7118 §5: so is a
    // WebSocket message's); a stream message has none.
    bodyEnd = framing === 'stream' ? bodyStart : buf.length;
  } else {
    bodyEnd = bodyStart + length;
    if (bodyEnd > buf.length) {
      throw withPartial(failure('truncated-body', 'Content-Length exceeds body', 'Content-Length'), message);
    }
  }
  // RFC 7118 §5: a WebSocket message holds one SIP message, never a second one or part of it.
  if (framing === 'websocket' && bodyEnd < buf.length) {
    throw withPartial(failure('trailing-octets', 'Octets after Content-Length', 'Content-Length'), message);
  }
  // Octets after Content-Length in a datagram are discarded (§18.3, RFC 4475 §3.1.1.8).
  message.attachReceived(buf.subarray(bodyStart, bodyEnd), buf.subarray(start, bodyEnd));
  if (options.validate !== false) validateMessage(message);
  return message;
}

const EMPTY = Buffer.alloc(0);

function skipLeadingCrlf(buf: Buffer, pos: number): number {
  while (pos + 1 < buf.length && buf[pos] === 0x0d && buf[pos + 1] === 0x0a) pos += 2;
  return pos;
}

interface Head {
  startLine: StartLine;
  startLineText: string;
  rows: HeaderRow[];
  error?: SipParseError;
}

/**
 * Splits a header section (without its final CRLFCRLF) into the start line and header rows,
 * joining folded continuation lines (§7.3.1). Never throws: a problem is returned with as much
 * of the head as could be read, so that the caller can still answer.
 */
export function splitHead(text: string): Head {
  const firstEnd = text.indexOf('\r\n');
  const startLineText = firstEnd < 0 ? text : text.slice(0, firstEnd);
  const rows: HeaderRow[] = [];
  let error: SipParseError | undefined;
  let pos = firstEnd < 0 ? text.length : firstEnd + 2;
  while (pos < text.length) {
    const end = rowEnd(text, pos);
    const c = text.charCodeAt(pos);
    if (c === 0x20 || c === 0x09) {
      error ??= failure('bad-header-line', 'Continuation line without a header');
    } else {
      const row = readRow(text.slice(pos, end));
      if (row === null) {
        error ??= failure('bad-header-line', `Malformed header line "${text.slice(pos, Math.min(end, pos + 24))}"`);
      } else rows.push(row);
    }
    pos = end + 2;
  }
  const parsed = parseStartLine(startLineText);
  if ('error' in parsed) return { startLine: parsed.guess, startLineText, rows, error: parsed.error };
  return { startLine: parsed.line, startLineText, rows, error };
}

/** End of the header row starting at `pos`: the CRLF not followed by a fold (SP or HT), or the text's end. */
function rowEnd(text: string, pos: number): number {
  for (;;) {
    const end = text.indexOf('\r\n', pos);
    if (end < 0) return text.length;
    const next = text.charCodeAt(end + 2);
    if (next !== 0x20 && next !== 0x09) return end;
    pos = end + 2;
  }
}

function readRow(line: string): HeaderRow | null {
  const colon = line.indexOf(':');
  if (colon <= 0) return null;
  let nameEnd = colon;
  while (nameEnd > 0 && (line.charCodeAt(nameEnd - 1) === 0x20 || line.charCodeAt(nameEnd - 1) === 0x09)) nameEnd--;
  const name = line.slice(0, nameEnd);
  if (!isToken(name)) return null;
  return { name, key: headerKey(name), value: unfold(line.slice(colon + 1)), raw: line };
}

/** Replaces each fold (CRLF followed by whitespace) with one space and trims (§7.3.1). */
function unfold(value: string): string {
  return (value.indexOf('\r\n') < 0 ? value : value.replace(/\r\n[ \t]+/g, ' ')).trim();
}

type StartLineResult = { line: StartLine } | { error: SipParseError; guess: StartLine };

const SIP_VERSION = /^SIP\/(\d+)\.(\d+)$/i;

/** Request-Line (§7.1) or Status-Line (§7.2), separated by single spaces. */
function parseStartLine(line: string): StartLineResult {
  // SIP-Version is case-insensitive (§7.1), so "sip/2.0 200 OK" is a status line too.
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === 'SIP/') return parseStatusLine(line);
  const parts = line.split(' ');
  const method = parts[0] ?? '';
  const guess: StartLine = { kind: 'request', method, uri: parts[1] ?? '', version: parts[2] ?? '' };
  if (parts.length !== 3) return { error: failure('bad-start-line', 'Malformed Request-Line'), guess };
  const [, uri = '', version = ''] = parts;
  if (!isToken(method)) return { error: failure('bad-method', 'Malformed method'), guess };
  if (uri.length === 0) return { error: failure('bad-request-uri', 'Malformed Request-URI'), guess };
  if (version === 'SIP/2.0') return { line: guess };
  const v = SIP_VERSION.exec(version);
  if (v === null) return { error: failure('bad-start-line', 'Malformed SIP-Version'), guess };
  if (Number(v[1]) !== 2 || Number(v[2]) !== 0) {
    return { error: failure('bad-version', 'Version Not Supported', undefined, 505), guess };
  }
  return { line: guess };
}

function parseStatusLine(line: string): StartLineResult {
  const first = line.indexOf(' ');
  const second = first < 0 ? -1 : line.indexOf(' ', first + 1);
  const version = first < 0 ? line : line.slice(0, first);
  const code = first < 0 ? '' : second < 0 ? line.slice(first + 1) : line.slice(first + 1, second);
  const reason = second < 0 ? '' : line.slice(second + 1);
  const status = Number(code);
  const guess: StartLine = { kind: 'response', version, status: Number.isFinite(status) ? status : 0, reason };
  const v = SIP_VERSION.exec(version);
  if (v === null || Number(v[1]) !== 2 || Number(v[2]) !== 0) {
    return { error: failure('bad-version', 'Unsupported SIP-Version in response', undefined, null), guess };
  }
  if (code.length !== 3 || !isDigits(code) || status < 100 || status > 699) {
    return { error: failure('bad-status-code', 'Malformed Status-Code', undefined, null), guess };
  }
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (c < 0x20 && c !== 0x09)
      return { error: failure('bad-start-line', 'Control character in Reason-Phrase', undefined, null), guess };
  }
  return { line: guess };
}

/** Content-Length rows: at most one, 1*DIGIT (§20.14; RFC 4475 §3.1.2.3, §3.3.9). */
function declaredLength(message: SipMessage, rows: readonly HeaderRow[]): number | undefined {
  let value: string | undefined;
  for (const row of rows) {
    if (row.key !== 'content-length') continue;
    if (value !== undefined)
      throw withPartial(failure('duplicate-header', 'Multiple Content-Length', 'Content-Length'), message);
    value = row.value;
  }
  if (value === undefined) return undefined;
  if (!isDigits(value) || value.length > 10) {
    throw withPartial(failure('bad-content-length', 'Malformed Content-Length', 'Content-Length'), message);
  }
  return Number(value);
}

function failure(code: SipErrorCode, reason: string, header?: string, status: number | null = 400): SipParseError {
  return new SipParseError(code, reason, { header, status: status ?? undefined });
}

/** Attaches the partial message; a response is never answered (§18.1.2), so its status is dropped. */
function withPartial(error: SipParseError, partial: SipMessage): SipParseError {
  return new SipParseError(error.code, error.reason, {
    partial,
    header: error.header,
    status: partial.isRequest ? error.status : undefined,
  });
}
