/** What the fuzz run accepts coming back (reply-check.ts). */
import { describe, expect, it } from 'vitest';
import { StreamReplies, datagramReplyProblem, noteRegisteredContacts } from './reply-check.js';

const RESPONSE = [
  'SIP/2.0 400 Bad Request',
  'Via: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK1',
  'From: <sip:alice@127.0.0.1>;tag=a',
  'To: <sip:bob@127.0.0.1>;tag=b',
  'Call-ID: r1',
  'CSeq: 1 INVITE',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('reply check', () => {
  it('takes a well-formed response, exactly one per datagram', () => {
    expect(datagramReplyProblem(bytes(RESPONSE))).toBeUndefined();
    expect(datagramReplyProblem(bytes(`${RESPONSE}junk`))).toMatch(/^bytes around the message/);
    expect(datagramReplyProblem(bytes(`\r\n${RESPONSE}`))).toMatch(/^bytes around the message/);
  });

  it('refuses requests, malformed responses and responses without a mandatory header', () => {
    const request = RESPONSE.replace('SIP/2.0 400 Bad Request', 'INVITE sip:bob@127.0.0.1 SIP/2.0');
    expect(datagramReplyProblem(bytes(request))).toBe('a request came back: INVITE sip:bob@127.0.0.1 SIP/2.0');
    expect(datagramReplyProblem(bytes(RESPONSE.replace('Bad Request', 'Bad\x07Request')))).toMatch(
      /^malformed \(Control character in Reason-Phrase\)/,
    );
    expect(datagramReplyProblem(bytes(RESPONSE.replace('Call-ID: r1\r\n', '')))).toMatch(
      /^malformed \(Missing Call-ID\)/,
    );
    expect(
      datagramReplyProblem(bytes(RESPONSE.replace('To: <sip:bob@127.0.0.1>;tag=b', 'To: <sip:bob@127.0.0.1'))),
    ).toMatch(/^malformed \(Bad To/);
  });

  it('takes a request for a contact the client registered (its NAT binding), and no other request', () => {
    const registered = new Set<string>();
    const register = RESPONSE.replace('SIP/2.0 400 Bad Request', 'REGISTER sip:127.0.0.1 SIP/2.0').replace(
      'CSeq: 1 INVITE',
      'CSeq: 1 REGISTER\r\nContact: <sip:carol@127.0.0.1:5099>, <sip:127.0.0.1>',
    );
    noteRegisteredContacts(bytes(register), registered);
    noteRegisteredContacts(bytes('not a message'), registered);
    expect([...registered]).toEqual(['carol@127.0.0.1:5099', '@127.0.0.1:5060']);
    const toContact = RESPONSE.replace('SIP/2.0 400 Bad Request', 'INVITE sip:carol@127.0.0.1:5099 SIP/2.0');
    expect(datagramReplyProblem(bytes(toContact), { registered })).toBeUndefined();
    expect(datagramReplyProblem(bytes(toContact))).toBe('a request came back: INVITE sip:carol@127.0.0.1:5099 SIP/2.0');
    const elsewhere = RESPONSE.replace('SIP/2.0 400 Bad Request', 'INVITE sip:carol@127.0.0.1 SIP/2.0');
    expect(datagramReplyProblem(bytes(elsewhere), { registered })).toMatch(/^a request came back/);
    expect(new StreamReplies({ registered }).push(bytes(toContact)).problems).toEqual([]);
  });

  it('frames a stream, skipping CRLF pongs, and reports what is not a response', () => {
    const replies = new StreamReplies();
    const first = replies.push(bytes(`\r\n${RESPONSE}\r\n${RESPONSE.slice(0, 20)}`));
    expect(first.responses.map((r) => r.status)).toEqual([400]);
    expect(first.problems).toEqual([]);
    expect(replies.buffered).toBe(20);
    const second = replies.push(bytes(`${RESPONSE.slice(20)}OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n`));
    expect(second.responses.map((r) => r.status)).toEqual([400]);
    expect(second.problems).toHaveLength(1);
  });
});
