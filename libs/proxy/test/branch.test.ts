import { MAGIC_COOKIE, type SipMessage, isToken, parseMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  LOOP_HASH_LENGTH,
  contextIdOfBranch,
  forkBranch,
  loopHash,
  parseOurBranch,
  statelessBranch,
  statelessLoopHash,
} from '../src/index.js';

function msg(lines: string[], body = ''): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

/** An INVITE as a UA sends it; `changes` replaces lines by their header name (or 'start'). */
function invite(changes: Record<string, string | null> = {}, method = 'INVITE'): SipMessage {
  const lines: [string, string][] = [
    ['start', `${method} sip:bob@example.com SIP/2.0`],
    ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds'],
    ['Max-Forwards', '70'],
    ['Route', '<sip:edge.example.com;lr>'],
    ['To', 'Bob <sip:bob@example.com>'],
    ['From', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
    ['Call-ID', 'a84b4c76e66710@pc33.atlanta.example.com'],
    ['CSeq', `314159 ${method}`],
    ['Proxy-Require', 'foo'],
    [
      'Proxy-Authorization',
      'Digest username="alice", realm="example.com", nonce="n1", uri="sip:bob@example.com", response="0123456789abcdef0123456789abcdef"',
    ],
    ['Contact', '<sip:alice@pc33.atlanta.example.com>'],
    ['Content-Length', '0'],
  ];
  const out: string[] = [];
  for (const [name, value] of lines) {
    const v = name in changes ? changes[name] : value;
    if (v === null || v === undefined) continue;
    out.push(name === 'start' ? v : `${name}: ${v}`);
  }
  return msg(out);
}

describe('loopHash (§16.6 step 8)', () => {
  it('is 10 base64url characters, stable for the same request', () => {
    const hash = loopHash(invite());
    expect(hash).toMatch(/^[A-Za-z0-9_-]{10}$/);
    expect(hash).toHaveLength(LOOP_HASH_LENGTH);
    expect(loopHash(invite())).toBe(hash);
  });

  it('ignores the method, the top Via, Max-Forwards and headers that do not affect routing', () => {
    const base = loopHash(invite());
    expect(loopHash(invite({}, 'OPTIONS'))).toBe(base);
    expect(loopHash(invite({ Via: 'SIP/2.0/TCP other.example.net;branch=z9hG4bKzzz' }))).toBe(base);
    expect(loopHash(invite({ 'Max-Forwards': '3' }))).toBe(base);
    expect(loopHash(invite({ Contact: '<sip:alice@elsewhere.example.com>' }))).toBe(base);
  });

  it.each([
    ['Request-URI', { start: 'INVITE sip:carol@example.com SIP/2.0' }],
    ['To tag', { To: 'Bob <sip:bob@example.com>;tag=x1' }],
    ['From tag', { From: 'Alice <sip:alice@atlanta.example.com>;tag=other' }],
    ['Call-ID', { 'Call-ID': 'another@pc33' }],
    ['CSeq number', { CSeq: '314160 INVITE' }],
    ['Route', { Route: '<sip:p2.example.com;lr>' }],
    ['Route removed', { Route: null }],
    ['Proxy-Require', { 'Proxy-Require': 'bar' }],
    ['Proxy-Authorization', { 'Proxy-Authorization': 'Digest username="bob", realm="example.com", nonce="n2"' }],
  ])('changes with the %s', (_field, changes) => {
    expect(loopHash(invite(changes))).not.toBe(loopHash(invite()));
  });
});

describe('forkBranch (§16.6 step 8)', () => {
  const loop = loopHash(invite());

  it('a different branch for every fork and every attempt, each with the magic cookie', () => {
    const branches = new Set<string>();
    for (let fork = 0; fork < 4; fork++) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const branch = forkBranch('ctx-Ab3.x_9', loop, fork, attempt);
        expect(branch.startsWith(MAGIC_COOKIE)).toBe(true);
        expect(isToken(branch)).toBe(true);
        branches.add(branch);
      }
    }
    expect(branches.size).toBe(12);
  });

  it('contains the context id, the loop hash and the fork/attempt, read back from a response branch', () => {
    const branch = forkBranch('ctx-Ab3.x_9', loop, 11, 2);
    expect(branch).toBe(`z9hG4bKP${loop}.b.2.ctx-Ab3.x_9`);
    expect(contextIdOfBranch(branch)).toBe('ctx-Ab3.x_9');
    expect(parseOurBranch(branch)).toEqual({
      kind: 'fork',
      loop,
      forkIndex: 11,
      attempt: 2,
      contextId: 'ctx-Ab3.x_9',
    });
  });

  it('the method is not an input, so the CANCEL and ACK of a fork reuse its branch', () => {
    const forInvite = forkBranch('c1', loopHash(invite()), 0, 0);
    const forCancel = forkBranch('c1', loopHash(invite({}, 'CANCEL')), 0, 0);
    expect(forCancel).toBe(forInvite);
  });

  it('differs between contexts', () => {
    expect(forkBranch('c1', loop, 0, 0)).not.toBe(forkBranch('c2', loop, 0, 0));
  });

  it('refuses a context id that is not a token, a bad loop hash and negative indexes', () => {
    expect(() => forkBranch('a b', loop, 0, 0)).toThrow(TypeError);
    expect(() => forkBranch('{ctx}', loop, 0, 0)).toThrow(TypeError);
    expect(() => forkBranch('c1', 'short', 0, 0)).toThrow(TypeError);
    expect(() => forkBranch('c1', loop, -1, 0)).toThrow(RangeError);
    expect(() => forkBranch('c1', loop, 0, 1.5)).toThrow(RangeError);
  });

  it('contextIdOfBranch is undefined for foreign and stateless branches', () => {
    expect(contextIdOfBranch('z9hG4bK776asdhds')).toBeUndefined();
    expect(contextIdOfBranch('z9hG4bKP')).toBeUndefined();
    expect(contextIdOfBranch(statelessBranch(invite()))).toBeUndefined();
  });
});

describe('statelessBranch (§16.11)', () => {
  it('a retransmitted request gets the identical branch', () => {
    const first = statelessBranch(invite());
    // The retransmission arrives again (the edge stamps received/rport the same way or not at all).
    const again = invite({
      Via: 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.4',
    });
    expect(statelessBranch(again)).toBe(first);
    expect(first.startsWith(MAGIC_COOKIE)).toBe(true);
    expect(isToken(first)).toBe(true);
    expect(first).toMatch(/^z9hG4bKS[A-Za-z0-9_-]{10}\.[A-Za-z0-9_-]{16}$/);
    expect(parseOurBranch(first)).toEqual({
      kind: 'stateless',
      loop: statelessLoopHash(invite()),
      id: first.slice(-16),
    });
  });

  it("the CANCEL and the non-2xx ACK of an INVITE get the INVITE's branch", () => {
    const branch = statelessBranch(invite());
    // §9.1: a CANCEL copies Request-URI, Call-ID, To, From, CSeq number, Route and the top Via; it
    // cannot carry credentials (§22.1) and Proxy-Require is ignored in it (§8.2.2.3).
    const cancel = invite({ 'Proxy-Authorization': null, 'Proxy-Require': null }, 'CANCEL');
    expect(statelessBranch(cancel)).toBe(branch);
    // §17.1.1.3: the ACK carries the response's To tag.
    const ack = invite({ To: 'Bob <sip:bob@example.com>;tag=uas1' }, 'ACK');
    expect(statelessBranch(ack)).toBe(branch);
  });

  it('differs for another transaction (new incoming branch) and for another sender', () => {
    const branch = statelessBranch(invite());
    expect(statelessBranch(invite({ Via: 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnew1' }))).not.toBe(
      branch,
    );
    expect(
      statelessBranch(invite({ Via: 'SIP/2.0/UDP pc34.atlanta.example.com:5060;branch=z9hG4bK776asdhds' })),
    ).not.toBe(branch);
  });

  it('RFC 2543 client (no magic cookie): deterministic from the message, different per CSeq', () => {
    const old = { Via: 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=abc' };
    expect(statelessBranch(invite(old))).toBe(statelessBranch(invite(old)));
    expect(statelessBranch(invite({ ...old, CSeq: '314160 INVITE' }))).not.toBe(statelessBranch(invite(old)));
    const noBranch = { Via: 'SIP/2.0/UDP pc33.atlanta.example.com:5060' };
    expect(statelessBranch(invite(noBranch))).toMatch(/^z9hG4bKS/);
  });
});
