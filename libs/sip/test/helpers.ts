import { SipParseError } from '../src/index.js';

/** Joins header lines with CRLF and appends the blank line and body: a wire message as a Buffer. */
export function wire(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

/** Runs `fn` and returns the SipParseError it throws; fails the test on any other outcome. */
export function parseErrorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('expected a SipParseError');
}

export const INVITE_HEAD = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
];

/** INVITE_HEAD with `rows` below it and no body (`Content-Length: 0`), as wire bytes. */
export function inviteWire(...rows: string[]): Buffer {
  return wire([...INVITE_HEAD, ...rows, 'Content-Length: 0']);
}

/**
 * A body-less message (compact `l: 0`) of `startLine`, one Via row per entry of `viaRows`, then
 * INVITE_HEAD's To, From and Call-ID and the CSeq value `cseq`.
 */
export function withVias(startLine: string, viaRows: string[], cseq: string): Buffer {
  return wire([startLine, ...viaRows.map((v) => `Via: ${v}`), ...INVITE_HEAD.slice(3, 6), `CSeq: ${cseq}`, 'l: 0']);
}
