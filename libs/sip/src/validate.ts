import { isSingleValueHeader, canonicalName } from './header-names.js';
import { SipParseError } from './errors.js';
import { isCallId } from './header-values.js';
import type { SipMessage } from './message.js';

/** Methods defined by RFC 3261 and its common extensions; used to choose 400 or 501 on a CSeq mismatch. */
export const KNOWN_METHODS = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

/** Headers every request (§8.1.1) and response (§8.2.6) carries. Max-Forwards may be absent (§16.6 step 3). */
const MANDATORY = ['via', 'call-id', 'cseq', 'from', 'to'];

/**
 * Semantic checks after framing: mandatory headers present and single where they must be, and the
 * headers a proxy or registrar interprets well formed. Throws SipParseError; `status` is 400 (or
 * 501) for requests and absent for responses (they are dropped, never answered).
 */
export function validateMessage(message: SipMessage): void {
  const present = checkRows(message);
  // A request without Via cannot be answered at all (§18.2.2 has no address), so it is dropped.
  if (!present.has('via')) {
    throw new SipParseError('missing-header', 'Missing Via', { partial: message, header: 'Via' });
  }
  for (const key of MANDATORY) {
    if (!present.has(key)) {
      throw new SipParseError('missing-header', `Missing ${canonicalName(key)}`, {
        partial: message,
        header: canonicalName(key),
        status: message.isRequest ? 400 : undefined,
      });
    }
  }
  // Reading each typed value parses it; a malformed one throws a SipParseError naming the header.
  void message.vias;
  void message.from;
  void message.to;
  void message.maxForwards;
  const cseq = message.cseq;
  if (!isCallId(message.callId)) {
    throw new SipParseError('bad-header-value', 'Bad Call-ID', {
      partial: message,
      header: 'Call-ID',
      status: message.isRequest ? 400 : undefined,
    });
  }
  void message.contacts;
  if (!message.isRequest) return;
  void message.routes;
  void message.recordRoutes;
  void message.require;
  void message.proxyRequire;
  void message.expires;
  checkRequestUri(message);
  if (cseq.method !== message.method) {
    // RFC 4475 §3.1.2.17–18: 400, or 501 when the request's method is not one we implement.
    throw new SipParseError('cseq-method-mismatch', 'CSeq method does not match Request-Line', {
      partial: message,
      header: 'CSeq',
      status: KNOWN_METHODS.has(message.method) ? 400 : 501,
    });
  }
}

/** One pass over the rows: which headers are present; a single-valued header seen twice is an error. */
function checkRows(message: SipMessage): Set<string> {
  const seen = new Set<string>();
  for (const row of message.rows) {
    if (seen.has(row.key) && isSingleValueHeader(row.key)) {
      throw new SipParseError('duplicate-header', `Multiple ${canonicalName(row.key)}`, {
        partial: message,
        header: canonicalName(row.key),
        status: message.isRequest ? 400 : undefined,
      });
    }
    seen.add(row.key);
  }
  return seen;
}

function checkRequestUri(message: SipMessage): void {
  let uri;
  try {
    uri = message.requestUri;
  } catch (e) {
    if (e instanceof SipParseError) {
      throw new SipParseError(
        'bad-request-uri',
        'Malformed Request-URI',
        { partial: message, status: 400 },
        { cause: e },
      );
    }
    throw e;
  }
  // §19.1.1 table: URI headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
  if (uri.kind === 'sip' && uri.headers.length > 0) {
    throw new SipParseError('bad-request-uri', 'Headers not allowed in Request-URI', { partial: message, status: 400 });
  }
}
