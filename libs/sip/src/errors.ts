import { isCallId } from './header-values.js';
import type { SipMessage } from './message.js';

/** What was wrong with a message; stable identifiers for metrics and tests. */
export type SipErrorCode =
  | 'empty'
  | 'too-large'
  | 'unterminated-header-section'
  | 'bad-start-line'
  | 'bad-version'
  | 'bad-method'
  | 'bad-status-code'
  | 'bad-request-uri'
  | 'bad-header-line'
  | 'bad-header-value'
  | 'missing-header'
  | 'duplicate-header'
  | 'bad-content-length'
  | 'truncated-body'
  | 'trailing-octets'
  | 'cseq-method-mismatch';

export interface SipParseErrorDetails {
  /**
   * Whatever could be read: the message with its start line and header rows when the header section
   * could be split, so a caller can build a 400 from its Via/From/To/Call-ID/CSeq rows.
   */
  partial?: SipMessage;
  /** The header whose value is wrong, in its canonical long form (e.g. `CSeq`). */
  header?: string;
  /** The status a UAS or proxy should answer with (400, 501, 505, 513), when answering is possible. */
  status?: number;
}

/**
 * The one error type the parser throws. `reason` is short enough to be a SIP reason phrase
 * (e.g. `400 Missing Call-ID`). `status` is absent when no response may be sent (a response
 * message, or a request whose Via could not be read: RFC 3261 §18.2.1 needs a Via to answer).
 */
export class SipParseError extends Error {
  readonly code: SipErrorCode;
  readonly reason: string;
  readonly partial: SipMessage | undefined;
  readonly header: string | undefined;
  readonly status: number | undefined;

  constructor(code: SipErrorCode, reason: string, details: SipParseErrorDetails = {}, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'SipParseError';
    this.code = code;
    this.reason = reason;
    this.partial = details.partial;
    this.header = details.header;
    this.status = details.status;
  }

  /** The top Via value as written, if it could be read. */
  get topVia(): string | undefined {
    return this.partial?.getFirstRaw('via');
  }

  /** The Call-ID as written, if it could be read. */
  get callId(): string | undefined {
    return this.partial?.getFirstRaw('call-id');
  }

  /** The CSeq as written, if it could be read. */
  get cseq(): string | undefined {
    return this.partial?.getFirstRaw('cseq');
  }

  /**
   * True when a response can be sent: there is a status to send and the partial message is a
   * request a well-formed response can be built from (`isAnswerable`). A request whose Via, From,
   * To, Call-ID or CSeq is missing or malformed is dropped: its 400 would be malformed too.
   */
  get answerable(): boolean {
    return this.status !== undefined && this.partial !== undefined && isAnswerable(this.partial);
  }
}

/** The single-valued rows a response copies from its request (§8.2.6.2), besides the Via rows. */
const COPIED_ONCE = ['from', 'to', 'call-id', 'cseq'];

/**
 * Whether a well-formed response can be built from `message` (`buildResponse`, §8.2.6): it is a
 * request other than ACK, and the rows a response copies are there and readable — at least one
 * Via (every Via row well formed, since all are copied), From, To, Call-ID and CSeq exactly once
 * each. Works on the partial message of a SipParseError.
 */
export function isAnswerable(message: SipMessage): boolean {
  if (!message.isRequest || message.method === 'ACK' || !message.has('via')) return false;
  for (const key of COPIED_ONCE) {
    if (message.rows.filter((row) => row.key === key).length !== 1) return false;
  }
  try {
    void message.vias;
    void message.from;
    void message.to;
    void message.cseq;
  } catch (error) {
    if (error instanceof SipParseError) return false;
    throw error;
  }
  return isCallId(message.callId);
}
