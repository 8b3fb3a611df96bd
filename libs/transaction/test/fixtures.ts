import { type SipMessage, buildResponse, parseMessage } from '@sipedge/sip';
import { buildAckForNon2xx } from '../src/index.js';

/** A request as received over `transport`, with the given method and top-Via branch. */
export function request(method: string, branch = 'z9hG4bKtx1', transport = 'UDP'): SipMessage {
  const lines = [
    `${method} sip:bob@biloxi.example.com SIP/2.0`,
    `Via: SIP/2.0/${transport} pc33.atlanta.example.com:5060;branch=${branch}`,
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    `CSeq: 314159 ${method}`,
    'Route: <sip:p1.example.com;lr>',
    'Content-Length: 0',
  ];
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
}

/** A response to `req` with a fixed To-tag (so retransmissions are identical). */
export function response(req: SipMessage, status: number): SipMessage {
  return parseMessage(buildResponse(req, status, { toTag: 'uas1' }).toBuffer());
}

/** The ACK a client sends for a non-2xx final response. */
export function ackFor(req: SipMessage, res: SipMessage): SipMessage {
  return parseMessage(buildAckForNon2xx(req, res).toBuffer());
}
