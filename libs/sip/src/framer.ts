import { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage, splitHead } from './parser.js';
import { isDigits } from './charsets.js';

export type FramerEvent =
  | { type: 'message'; message: SipMessage }
  /** A CRLFCRLF ping (RFC 5626 §4.4.1): answer with a single CRLF pong. */
  | { type: 'keepalive' }
  /**
   * A message that was framed but is invalid (`fatal: false`, the stream goes on), or a framing
   * error after which the stream cannot be resynchronised (`fatal: true`: close the connection,
   * RFC 4475 §3.1.2.3, §3.3.9).
   */
  | { type: 'error'; error: SipParseError; fatal: boolean };

export interface StreamFramerOptions {
  /** Largest message (header section plus body) in bytes; default 65535. */
  maxMessageSize?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/**
 * Cuts a TCP/TLS byte stream into SIP messages by Content-Length (§18.3): handles partial and
 * concatenated messages, ignores CRLFs before a start line (§7.5) and reports CRLFCRLF keep-alive
 * pings. After a fatal error the framer stays failed: every later push reports nothing.
 */
export class StreamFramer {
  private pending: Buffer = EMPTY;
  private failed = false;
  private readonly maxSize: number;

  constructor(options: StreamFramerOptions = {}) {
    this.maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): FramerEvent[] {
    if (this.failed) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const events: FramerEvent[] = [];
    for (;;) {
      const event = this.next();
      if (event === null) break;
      events.push(event);
      if (event.type === 'error' && event.fatal) {
        this.failed = true;
        this.pending = EMPTY;
        break;
      }
    }
    return events;
  }

  private next(): FramerEvent | null {
    const buf = this.pending;
    if (buf.length >= 4 && buf.subarray(0, 4).equals(CRLFCRLF)) {
      this.pending = buf.subarray(4);
      return { type: 'keepalive' };
    }
    if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
      // A lone CRLF before a start line is ignored (§7.5); wait if it may be the start of a ping.
      if (buf.length < 4 && (buf.length === 2 || buf[2] === 0x0d)) return null;
      this.pending = buf.subarray(2);
      return this.next();
    }
    if (buf.length === 0) return null;
    const headerEnd = buf.indexOf(CRLFCRLF);
    if (headerEnd < 0) {
      return buf.length > this.maxSize ? this.fatal('too-large', 'Message Too Large', 513) : null;
    }
    const length = this.contentLength(buf, headerEnd);
    if (typeof length !== 'number') return length;
    const total = headerEnd + 4 + length;
    if (total > this.maxSize) return this.fatal('too-large', 'Message Too Large', 513);
    if (buf.length < total) return null;
    const bytes = buf.subarray(0, total);
    this.pending = buf.subarray(total);
    try {
      return { type: 'message', message: parseMessage(bytes, { framing: 'stream', maxSize: this.maxSize }) };
    } catch (e) {
      if (e instanceof SipParseError) return { type: 'error', error: e, fatal: false };
      throw e;
    }
  }

  /** Content-Length of a framed head; absent means 0 on a stream. Ambiguous or malformed → fatal. */
  private contentLength(buf: Buffer, headerEnd: number): number | FramerEvent {
    const head = splitHead(buf.toString('latin1', 0, headerEnd));
    const values = head.rows.filter((r) => r.key === 'content-length').map((r) => r.value);
    if (values.length === 0) return 0;
    if (values.length > 1) return this.fatal('duplicate-header', 'Multiple Content-Length', 400);
    const v = values[0]!;
    if (!isDigits(v) || v.length > 10) return this.fatal('bad-content-length', 'Malformed Content-Length', 400);
    return Number(v);
  }

  private fatal(
    code: 'too-large' | 'duplicate-header' | 'bad-content-length',
    reason: string,
    status: number,
  ): FramerEvent {
    return { type: 'error', error: new SipParseError(code, reason, { status }), fatal: true };
  }
}
