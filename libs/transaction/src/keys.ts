import type { SipMessage } from '@sipedge/sip';

/**
 * Client transaction key (§17.1.3): the branch of the top Via and the CSeq method. A response
 * matches the client transaction whose request carried the same branch and method; a CANCEL has
 * its own transaction.
 */
export function clientKey(message: SipMessage): string {
  const branch = message.topVia?.branch ?? '';
  return `c|${branch}|${message.cseq.method}`;
}

/**
 * Server transaction key (§17.2.3). With an RFC 3261 branch (magic cookie): branch, sent-by and
 * method, where ACK matches its INVITE. Without one (RFC 2543): Request-URI, From tag, Call-ID,
 * CSeq number, top Via and method (ACK → INVITE). The To tag is left out because an INVITE and
 * its retransmissions have none while the ACK carries the response's tag.
 */
export function serverKey(message: SipMessage): string {
  const method = message.method === 'ACK' ? 'INVITE' : message.method;
  const via = message.topVia;
  if (via?.rfc3261Branch === true && via.branch !== 'z9hG4bK') {
    return `s|${via.branch}|${via.sentBy}|${method}`;
  }
  return [
    's2543',
    message.requestUriText,
    message.from.tag ?? '',
    message.callId,
    String(message.cseq.seq),
    via?.toString() ?? '',
    method,
  ].join('|');
}

/** The key of the INVITE server transaction a CANCEL refers to (§9.2): same key, method INVITE. */
export function cancelledInviteKey(cancel: SipMessage): string {
  const key = serverKey(cancel);
  return key.slice(0, key.lastIndexOf('|') + 1) + 'INVITE';
}
