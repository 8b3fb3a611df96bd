import { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage, splitHead } from './parser.js';
import { ByteQueue } from './byte-queue.js';
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

/**
 * Cuts a TCP/TLS byte stream into SIP messages by Content-Length (§18.3): handles partial and
 * concatenated messages, ignores CRLFs before a start line (§7.5) and reports CRLFCRLF keep-alive
 * pings. Work per push is proportional to the bytes pushed: chunks are kept in a list, the header
 * end is searched only in new bytes, and the framed length is remembered once known. After a fatal
 * error the framer stays failed: every later push reports nothing.
 */
export class StreamFramer {
  private readonly pending = new ByteQueue();
  /** Bytes at the front already searched for CRLFCRLF without finding it. */
  private scanned = 0;
  /** Total length of the message at the front, once its header section has been read. */
  private expected: number | null = null;
  private failed = false;
  private readonly maxSize: number;

  constructor(options: StreamFramerOptions = {}) {
    this.maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * True while a message has begun and is not complete: bytes other than the start of a CRLFCRLF
   * keep-alive (RFC 5626 §4.4.1) are buffered. Keep-alives between messages never make it true,
   * so a transport can time how long a message takes to arrive from its first byte.
   */
  get inMessage(): boolean {
    const size = this.pending.length;
    return size > 0 && (size >= CRLFCRLF.length || !this.pending.view().equals(CRLFCRLF.subarray(0, size)));
  }

  push(chunk: Buffer): FramerEvent[] {
    if (this.failed || chunk.length === 0) return [];
    this.pending.append(chunk);
    const events: FramerEvent[] = [];
    for (;;) {
      const event = this.next();
      if (event === null) break;
      events.push(event);
      if (event.type === 'error' && event.fatal) {
        this.failed = true;
        this.pending.clear();
        break;
      }
    }
    return events;
  }

  private next(): FramerEvent | null {
    if (this.expected !== null) return this.pending.length >= this.expected ? this.take(this.expected) : null;
    const front = this.leadingCrlf();
    if (front === 'keepalive') return { type: 'keepalive' };
    if (front === 'wait') return null;
    // Read the size only now: a lone CRLF may just have been consumed.
    const size = this.pending.length;
    if (size === 0) return null;
    const headerEnd = this.findHeaderEnd();
    if (headerEnd < 0) return size > this.maxSize ? this.fatal('too-large', 'Message Too Large', 513) : null;
    // The size limit is checked before Content-Length, so the error does not depend on chunking.
    if (headerEnd + 4 > this.maxSize) return this.fatal('too-large', 'Message Too Large', 513);
    const length = this.contentLength(headerEnd);
    if (typeof length !== 'number') return length;
    if (headerEnd + 4 + length > this.maxSize) return this.fatal('too-large', 'Message Too Large', 513);
    this.expected = headerEnd + 4 + length;
    return size >= this.expected ? this.take(this.expected) : null;
  }

  /**
   * CRLFs at the front of the stream: a CRLFCRLF ping is consumed and reported; lone CRLFs before a
   * start line are consumed (§7.5); 'wait' while the bytes so far could still become a ping.
   */
  private leadingCrlf(): 'keepalive' | 'wait' | 'none' {
    for (;;) {
      const front = this.pending.view().subarray(0, 4);
      if (front.length === 4 && front.equals(CRLFCRLF)) {
        this.consume(4);
        return 'keepalive';
      }
      if (front.length < 2 || front[0] !== 0x0d || front[1] !== 0x0a) return 'none';
      if (front.length < 4 && (front.length === 2 || front[2] === 0x0d)) return 'wait';
      this.consume(2);
    }
  }

  /** Searches only the bytes not searched before (with 3 bytes of overlap). */
  private findHeaderEnd(): number {
    const all = this.pending.view();
    const index = all.indexOf(CRLFCRLF, Math.max(0, this.scanned - 3));
    this.scanned = index < 0 ? all.length : index;
    return index;
  }

  /** Content-Length of the framed head; absent means 0 on a stream. Ambiguous or malformed → fatal. */
  private contentLength(headerEnd: number): number | FramerEvent {
    const head = splitHead(this.pending.view().toString('latin1', 0, headerEnd));
    const values = head.rows.filter((r) => r.key === 'content-length').map((r) => r.value);
    if (values.length === 0) return 0;
    if (values.length > 1) return this.fatal('duplicate-header', 'Multiple Content-Length', 400);
    const v = values[0]!;
    if (!isDigits(v) || v.length > 10) return this.fatal('bad-content-length', 'Malformed Content-Length', 400);
    return Number(v);
  }

  private take(total: number): FramerEvent {
    // A copy: the message keeps its bytes while the queue's buffer is reused.
    const bytes = Buffer.from(this.pending.view().subarray(0, total));
    this.consume(total);
    this.expected = null;
    try {
      return { type: 'message', message: parseMessage(bytes, { framing: 'stream', maxSize: this.maxSize }) };
    } catch (e) {
      if (e instanceof SipParseError) return { type: 'error', error: e, fatal: false };
      throw e;
    }
  }

  private consume(n: number): void {
    this.pending.consume(n);
    this.scanned = 0;
  }

  private fatal(
    code: 'too-large' | 'duplicate-header' | 'bad-content-length',
    reason: string,
    status: number,
  ): FramerEvent {
    return { type: 'error', error: new SipParseError(code, reason, { status }), fatal: true };
  }
}
