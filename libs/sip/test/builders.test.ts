import { describe, expect, it } from 'vitest';
import {
  MAGIC_COOKIE,
  buildRequest,
  buildResponse,
  hasStatelessToTag,
  newBranch,
  parseMessage,
  parseNameAddr,
  statelessToTag,
} from '../src/index.js';
import { INVITE_HEAD, inviteWire, wire } from './helpers.js';

const request = parseMessage(
  inviteWire('Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1;received=192.0.2.9', 'Timestamp: 54'),
);

describe('buildResponse (§8.2.6)', () => {
  it('copies Via rows in order, From, Call-ID and CSeq verbatim and adds a To-tag', () => {
    const res = parseMessage(buildResponse(request, 486).toBuffer());
    expect(res.status).toBe(486);
    expect(res.reason).toBe('Busy Here');
    expect(res.values('Via')).toEqual(request.values('Via'));
    expect(res.get('From')).toBe(request.get('From'));
    expect(res.callId).toBe(request.callId);
    expect(res.cseq).toEqual(request.cseq);
    expect(res.to.uri.toString()).toBe('sip:bob@biloxi.example.com');
    expect(res.to.tag).toMatch(/^[A-Za-z0-9.-]{8,}$/);
    expect(res.contentLength).toBe(0);
    expect(res.has('Contact')).toBe(false);
  });

  it('escapes what a reason phrase may not hold, so an echoed parse error cannot break the status line', () => {
    // A parse error quotes the line it could not read; that line may hold CR, NUL or any byte.
    const reason = 'Malformed header line "Ma+\x1b\x07\rLx\n%\xff\tok"';
    const wire = buildResponse(request, 400, { reason }).toBuffer();
    expect(wire.toString('latin1').split('\r\n')[0]).toBe(
      'SIP/2.0 400 Malformed header line "Ma+%1B%07%0DLx%0A%25%FF\tok"',
    );
    expect(parseMessage(wire).reason).toBe('Malformed header line "Ma+%1B%07%0DLx%0A%25%FF\tok"');
  });

  it('uses a given To-tag so stateless retransmissions are identical (§8.2.7)', () => {
    const a = buildResponse(request, 407, { toTag: 'fixed' }).toBuffer();
    const b = buildResponse(request, 407, { toTag: 'fixed' }).toBuffer();
    expect(a.equals(b)).toBe(true);
    expect(parseMessage(a).to.tag).toBe('fixed');
  });

  it('keeps an existing To-tag', () => {
    const inDialog = parseMessage(
      wire([...INVITE_HEAD.map((l) => (l.startsWith('To:') ? `${l};tag=abc` : l)), 'l: 0']),
    );
    expect(parseMessage(buildResponse(inDialog, 200).toBuffer()).to.tag).toBe('abc');
  });

  it('gives 100 Trying no To-tag and copies Timestamp (§8.2.6.1)', () => {
    const trying = parseMessage(buildResponse(request, 100).toBuffer());
    expect(trying.to.tag).toBeUndefined();
    expect(trying.get('Timestamp')).toBe('54');
    expect(parseMessage(buildResponse(request, 180).toBuffer()).has('Timestamp')).toBe(false);
  });

  it('adds extra headers and a body with its Content-Length', () => {
    const res = parseMessage(
      buildResponse(request, 200, {
        headers: [
          ['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE'],
          ['Content-Type', 'text/plain'],
        ],
        body: Buffer.from('hi'),
      }).toBuffer(),
    );
    expect(res.values('Allow')).toEqual(['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE']);
    expect(res.body.toString()).toBe('hi');
    expect(res.contentLength).toBe(2);
  });
});

describe('buildRequest (§8.1.1)', () => {
  it('builds a valid request with the mandatory headers', () => {
    const branch = newBranch();
    expect(branch.startsWith(MAGIC_COOKIE)).toBe(true);
    const msg = buildRequest({
      method: 'OPTIONS',
      uri: 'sip:bob@example.com',
      via: `SIP/2.0/UDP edge.example.com;branch=${branch}`,
      from: parseNameAddr('<sip:edge@example.com>;tag=e1'),
      to: '<sip:bob@example.com>',
      callId: 'opt-1',
      cseq: 1,
    });
    const parsed = parseMessage(msg.toBuffer());
    expect(parsed.method).toBe('OPTIONS');
    expect(parsed.maxForwards).toBe(70);
    expect(parsed.topVia?.branch).toBe(branch);
    expect(parsed.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(parsed.from.tag).toBe('e1');
    expect(parsed.contentLength).toBe(0);
  });
});

describe('statelessToTag / hasStatelessToTag (§8.2.7, §17.1.1.3)', () => {
  /** The ACK of a response to `request` whose To tag is `tag` (same Via, Call-ID and CSeq number). */
  function ackWith(tag: string | undefined): ReturnType<typeof parseMessage> {
    const text = request.toBuffer().toString('latin1');
    const ack = text
      .replace(/^INVITE /, 'ACK ')
      .replace(/^(To: .*)$/m, (line) => (tag === undefined ? line : `${line};tag=${tag}`))
      .replace(/^CSeq: (\d+) INVITE$/m, 'CSeq: $1 ACK');
    return parseMessage(Buffer.from(ack, 'latin1'));
  }

  it('is the same for the request and its ACK, and only that tag is the stateless one', () => {
    const tag = statelessToTag(request);
    expect(tag).toMatch(/^sl[A-Za-z0-9.-]{12}$/);
    expect(statelessToTag(ackWith(tag))).toBe(tag);
    expect(hasStatelessToTag(ackWith(tag))).toBe(true);
    expect(hasStatelessToTag(ackWith('callee-tag'))).toBe(false);
    expect(hasStatelessToTag(ackWith(`sl${tag.slice(3)}x`))).toBe(false);
    expect(hasStatelessToTag(ackWith(undefined))).toBe(false);
  });
});
