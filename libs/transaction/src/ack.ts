import { type HeaderRow, SipMessage, newRow } from '@sipedge/sip';

/**
 * The ACK an INVITE client transaction sends for a 300–699 response (§17.1.1.3): Request-URI,
 * Call-ID, From and CSeq number of the request, its top Via only, To from the response (with the
 * tag), the request's Route rows, and no body.
 */
export function buildAckForNon2xx(request: SipMessage, response: SipMessage): SipMessage {
  const to = response.rows.find((r) => r.key === 'to');
  return sameTransactionRequest(request, 'ACK', ['max-forwards', 'from', 'call-id', 'route'], to);
}

/**
 * The CANCEL of a request (§9.1): Request-URI, Call-ID, To, From and CSeq number of the request,
 * its top Via only (the branch of the request it cancels), its Route rows, and no body.
 */
export function buildCancel(request: SipMessage): SipMessage {
  return sameTransactionRequest(request, 'CANCEL', ['max-forwards', 'from', 'to', 'call-id', 'route']);
}

/**
 * A request that belongs with `request` (its ACK or CANCEL): the top Via, the rows named by
 * `keep` in their order, then `to` when given, the CSeq number with `method`, and no body.
 */
function sameTransactionRequest(
  request: SipMessage,
  method: 'ACK' | 'CANCEL',
  keep: readonly string[],
  to?: HeaderRow,
): SipMessage {
  const rows: HeaderRow[] = [newRow('Via', request.values('via')[0] ?? '')];
  for (const row of request.rows) if (keep.includes(row.key)) rows.push(row);
  if (to !== undefined) rows.push(to);
  rows.push(newRow('CSeq', `${request.cseq.seq} ${method}`));
  rows.push(newRow('Content-Length', '0'));
  return new SipMessage(
    { kind: 'request', method, uri: request.requestUriText, version: 'SIP/2.0' },
    rows,
    Buffer.alloc(0),
  );
}
