/**
 * The two requests built from another one: the ACK of a non-2xx final response (RFC 3261
 * §17.1.1.3) and the CANCEL (§9.1). Both keep the request's top Via only, its Request-URI, Call-ID,
 * From, Route and CSeq number; the ACK takes To from the response (with its tag), the CANCEL from
 * the request.
 */
import { describe, expect, it } from 'vitest';
import { buildAckForNon2xx, buildCancel } from '../src/index.js';
import { request, response } from './fixtures.js';

const lines = (message: { toString(): string }) => message.toString().split('\r\n');

describe('requests built from a request', () => {
  it('the ACK of a non-2xx response (§17.1.1.3)', () => {
    const invite = request('INVITE');
    expect(lines(buildAckForNon2xx(invite, response(invite, 486)))).toEqual([
      'ACK sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKtx1',
      'Max-Forwards: 70',
      'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'Route: <sip:p1.example.com;lr>',
      'To: Bob <sip:bob@biloxi.example.com>;tag=uas1',
      'CSeq: 314159 ACK',
      'Content-Length: 0',
      '',
      '',
    ]);
  });

  it('the CANCEL (§9.1)', () => {
    expect(lines(buildCancel(request('INVITE')))).toEqual([
      'CANCEL sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKtx1',
      'Max-Forwards: 70',
      'To: Bob <sip:bob@biloxi.example.com>',
      'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'Route: <sip:p1.example.com;lr>',
      'CSeq: 314159 CANCEL',
      'Content-Length: 0',
      '',
      '',
    ]);
  });
});
