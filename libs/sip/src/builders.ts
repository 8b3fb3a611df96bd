import { hash } from 'node:crypto';
import { formatCSeq } from './header-values.js';
import { newTag } from './ids.js';
import { type HeaderRow, SipMessage, newRow } from './message.js';
import type { NameAddr } from './name-addr.js';
import { SipParseError } from './errors.js';
import { reasonPhrase } from './status-codes.js';
import type { Uri } from './uri.js';
import type { Via } from './via.js';

export type HeaderList = readonly (readonly [name: string, value: string])[];

export interface ResponseOptions {
  reason?: string;
  /**
   * To-tag to add when the request's To has none (§8.2.6.2). Default: a new random tag. Pass a
   * deterministic tag for stateless responses whose retransmissions must be identical (§8.2.7).
   * Never added to a 100 (Trying), which may omit it.
   */
  toTag?: string;
  headers?: HeaderList;
  body?: Buffer;
}

/**
 * Builds a response to `request` per §8.2.6: Via rows (all, in order), From, Call-ID and CSeq are
 * copied as written; To is copied and gets a tag; 100 (Trying) copies Timestamp (§8.2.6.1).
 * Works on a partial message from a SipParseError, copying whatever rows are present.
 */
export function buildResponse(request: SipMessage, status: number, options: ResponseOptions = {}): SipMessage {
  const rows: HeaderRow[] = [];
  for (const row of request.rows) {
    if (row.key === 'via' || row.key === 'from' || row.key === 'call-id' || row.key === 'cseq') rows.push(row);
    else if (row.key === 'to') rows.push(toWithTag(request, row, status, options.toTag));
    else if (row.key === 'timestamp' && status === 100) rows.push(row);
  }
  for (const [name, value] of options.headers ?? []) rows.push(newRow(name, value));
  const body = options.body ?? EMPTY;
  rows.push(newRow('Content-Length', String(body.length)));
  const reason = reasonPhraseText(options.reason ?? reasonPhrase(status));
  return new SipMessage({ kind: 'response', version: 'SIP/2.0', status, reason }, rows, body);
}

/**
 * A reason (a binary string, e.g. a parse error quoting the offending line) as a Reason-Phrase
 * that cannot break the status line: control bytes other than HTAB (CR and LF among them), DEL,
 * `%` and non-ASCII bytes are %-escaped (§25.1 `escaped`).
 */
function reasonPhraseText(reason: string): string {
  let out = '';
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    const unsafe = (c < 0x20 && c !== 0x09) || c >= 0x7f || c === 0x25;
    out += unsafe ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : reason[i];
  }
  return out;
}

function toWithTag(request: SipMessage, row: HeaderRow, status: number, toTag: string | undefined): HeaderRow {
  if (status === 100) return row;
  let to: NameAddr;
  try {
    to = request.to;
  } catch (e) {
    // A malformed To (e.g. the reason for a 400) is echoed as it came.
    if (e instanceof SipParseError) return row;
    throw e;
  }
  if (to.tag !== undefined) return row;
  const tagged = to.withParams(to.params.with('tag', toTag ?? newTag()));
  return { name: row.name, key: row.key, value: tagged.toString(), raw: null };
}

export interface RequestOptions {
  method: string;
  uri: Uri | string;
  via?: Via | string;
  from: NameAddr | string;
  to: NameAddr | string;
  callId: string;
  cseq: number;
  /** Default 70 (§8.1.1.6). */
  maxForwards?: number;
  contact?: NameAddr | string;
  headers?: HeaderList;
  body?: Buffer;
}

/** Builds a request with the mandatory headers of §8.1.1 in the conventional order. */
export function buildRequest(options: RequestOptions): SipMessage {
  const rows: HeaderRow[] = [];
  if (options.via !== undefined) rows.push(newRow('Via', options.via.toString()));
  rows.push(newRow('Max-Forwards', String(options.maxForwards ?? 70)));
  rows.push(newRow('From', options.from.toString()));
  rows.push(newRow('To', options.to.toString()));
  rows.push(newRow('Call-ID', options.callId));
  rows.push(newRow('CSeq', formatCSeq({ seq: options.cseq, method: options.method })));
  if (options.contact !== undefined) rows.push(newRow('Contact', options.contact.toString()));
  for (const [name, value] of options.headers ?? []) rows.push(newRow(name, value));
  const body = options.body ?? EMPTY;
  rows.push(newRow('Content-Length', String(body.length)));
  return new SipMessage(
    { kind: 'request', method: options.method, uri: options.uri.toString(), version: 'SIP/2.0' },
    rows,
    body,
  );
}

const EMPTY = Buffer.alloc(0);

/**
 * A To-tag that is the same for every retransmission of a request and for the ACK of a non-2xx
 * response to it (§8.2.7 stateless UAS, §17.1.1.3): derived from the top Via's branch and sent-by,
 * the Call-ID and the CSeq number. Works on partial messages (rows that cannot be read count as empty).
 */
export function statelessToTag(request: SipMessage): string {
  let branch = '';
  let sentBy = '';
  try {
    const via = request.topVia;
    branch = via?.branch ?? '';
    sentBy = via?.sentBy ?? '';
  } catch (error) {
    if (!(error instanceof SipParseError)) throw error;
  }
  const cseq = (request.get('CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  const basis = `${branch}|${sentBy}|${request.get('Call-ID') ?? ''}|${cseq}`;
  return `${STATELESS_TAG_PREFIX}${hash('sha1', basis, 'base64url').slice(0, 12).replace(/_/g, '.')}`;
}

const STATELESS_TAG_PREFIX = 'sl';

/**
 * Whether the request's To tag is its `statelessToTag`: the ACK of a response sent without state
 * (§17.1.1.3). Most ACKs are a 2xx's, with the callee's tag: those are told apart by the prefix,
 * without the digest.
 */
export function hasStatelessToTag(request: SipMessage): boolean {
  const tag = request.to.tag;
  return tag !== undefined && tag.startsWith(STATELESS_TAG_PREFIX) && tag === statelessToTag(request);
}
