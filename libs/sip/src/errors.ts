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

  constructor(code: SipErrorCode, reason: string, details: SipParseErrorDetails = {}) {
    super(reason);
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
   * True when a response can be sent: the message is a request other than ACK and its Via and CSeq
   * rows were read (the client matches a response by top-Via branch and CSeq method, §17.1.3).
   * Missing From/To/Call-ID do not prevent a 400 (RFC 4475 §3.3.1).
   */
  get answerable(): boolean {
    const p = this.partial;
    return (
      this.status !== undefined &&
      p !== undefined &&
      p.isRequest &&
      p.method !== 'ACK' &&
      p.getFirstRaw('via') !== undefined &&
      p.getFirstRaw('cseq') !== undefined
    );
  }
}
