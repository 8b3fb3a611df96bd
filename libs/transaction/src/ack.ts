import { type HeaderRow, SipMessage, newRow } from '@sipedge/sip';

/**
 * The ACK an INVITE client transaction sends for a 300–699 response (§17.1.1.3): Request-URI,
 * Call-ID, From and CSeq number of the request, its top Via only, To from the response (with the
 * tag), the request's Route rows, and no body.
 */
export function buildAckForNon2xx(request: SipMessage, response: SipMessage): SipMessage {
  const rows: HeaderRow[] = [newRow('Via', request.values('via')[0] ?? '')];
  for (const row of request.rows) {
    if (row.key === 'max-forwards' || row.key === 'from' || row.key === 'call-id' || row.key === 'route')
      rows.push(row);
  }
  const to = response.rows.find((r) => r.key === 'to');
  if (to !== undefined) rows.push(to);
  rows.push(newRow('CSeq', `${request.cseq.seq} ACK`));
  rows.push(newRow('Content-Length', '0'));
  return new SipMessage(
    { kind: 'request', method: 'ACK', uri: request.requestUriText, version: 'SIP/2.0' },
    rows,
    Buffer.alloc(0),
  );
}
