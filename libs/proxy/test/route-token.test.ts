import { createHmac } from 'node:crypto';
import type { SipMessage, SipUri } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type RouteTokenKeys,
  checkRouteTokenKeys,
  dialogRouteToken,
  forkBranch,
  forwardRequest,
  loopHash,
  openRouteToken,
  preprocessRoutes,
  signRouteToken,
  dialogRecordRoute,
  dialogRoute,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';
import { expectBoundToken, msg, OTHER } from './support/route-token.js';

const KEYS: RouteTokenKeys = { secret: 'route-token-test-secret-0123456789abcdef' };
const FLOW = {
  transport: 'tcp',
  address: '203.0.113.7',
  port: 50123,
  edgeId: 'edge-1',
  flowId: 'f-edge-1-7-ab',
} as const;

function invite(callId = 'call-1@ua', fromTag = 'caller-tag'): SipMessage {
  return msg([
    'INVITE sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1',
    'Max-Forwards: 70',
    'To: <sip:bob@example.com>',
    `From: <sip:alice@example.com>;tag=${fromTag}`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.10>',
  ]);
}

/** The Record-Route our proxy inserts into `request` (§16.6 step 4), as the UAs will return it. */
function ourRecordRoute(request: SipMessage): string {
  const forwarded = forwardRequest(request, request.requestUri as SipUri, {
    config: TEST_CONFIG,
    branch: forkBranch('c1', loopHash(request), 0, 0),
    recordRoute: true,
    recordRouteToken: dialogRouteToken(KEYS, request),
  });
  return forwarded.message.values('record-route')[0]!;
}

/** An in-dialog request: `from`/`to` tags as the sender writes them, with the given Route. */
function inDialog(
  method: string,
  route: string,
  tags: { from: string; to?: string },
  callId = 'call-1@ua',
): SipMessage {
  return msg([
    `${method} sip:bob@192.0.2.20:5070 SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKindialog',
    'Max-Forwards: 70',
    `Route: ${route}`,
    `To: <sip:bob@example.com>${tags.to === undefined ? '' : `;tag=${tags.to}`}`,
    `From: <sip:alice@example.com>;tag=${tags.from}`,
    `Call-ID: ${callId}`,
    `CSeq: 2 ${method}`,
  ]);
}

const SOMEWHERE = { transport: 'udp', address: '198.51.100.1', port: 5060 };

/** The dialog `request` is inside as the proxy sees it: undefined, or the flow to send it on (if any). */
function dialogOf(request: SipMessage, arrival = SOMEWHERE) {
  const routed = dialogRoute(KEYS, request, preprocessRoutes(request, TEST_CONFIG), TEST_CONFIG, arrival);
  return routed === undefined ? undefined : routed.flow === undefined ? {} : { flow: routed.flow };
}

describe('route tokens', () => {
  it('open with the key and binding they were signed with, and carry the flow', () => {
    const token = signRouteToken(KEYS, { flow: FLOW }, ['a', 'b']);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openRouteToken(KEYS, token, [['x'], ['a', 'b']])).toEqual({ flow: FLOW });
    expect(openRouteToken(KEYS, signRouteToken(KEYS, {}, []), [[]])).toEqual({});
  });

  it('are version 1 ‖ HMAC-SHA-256 over the label and the length-prefixed content and binding, truncated to 16 bytes ‖ content', () => {
    const binding = ['dialog', 'call-1@host', 'tag-é'];
    const bytes = Buffer.from(signRouteToken(KEYS, { flow: FLOW }, binding), 'base64url');
    const content = bytes.subarray(17);
    const prefixed = (part: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(part.length);
      return [length, part];
    };
    const authenticated = Buffer.concat([
      Buffer.from('sipedge route token v1\0', 'latin1'),
      ...prefixed(content),
      ...binding.flatMap((text) => prefixed(Buffer.from(text, 'utf8'))),
    ]);
    const mac = createHmac('sha256', KEYS.secret).update(authenticated).digest().subarray(0, 16);
    expect(bytes[0]).toBe(1);
    expect(bytes.subarray(1, 17).equals(mac)).toBe(true);
    expect(content.toString('utf8').split('|').slice(0, 3)).toEqual([FLOW.transport, FLOW.address, String(FLOW.port)]);
  });

  it('do not open with another binding, another secret, or after any change', () => {
    const token = signRouteToken(KEYS, { flow: FLOW }, ['a', 'b']);
    expectBoundToken(KEYS, token);
    expect(openRouteToken(KEYS, 'rr', [['a', 'b']])).toBeUndefined();
    expect(openRouteToken(KEYS, 'not a token!', [['a', 'b']])).toBeUndefined();
  });

  it('open with a previous secret during a rotation, and are signed with the current one', () => {
    const old = signRouteToken(OTHER, {}, ['a']);
    const rotated: RouteTokenKeys = { secret: KEYS.secret, previous: [OTHER.secret] };
    expect(openRouteToken(rotated, old, [['a']])).toEqual({});
    expect(openRouteToken(KEYS, signRouteToken(rotated, {}, ['a']), [['a']])).toEqual({});
  });

  it('refuse secrets shorter than 32 bytes', () => {
    expect(() => checkRouteTokenKeys({ secret: 'short' })).toThrow(/secret: at least 32 bytes/);
    expect(() => checkRouteTokenKeys({ secret: KEYS.secret, previous: ['short'] })).toThrow(/previous secret 1/);
    expect(() => signRouteToken({ secret: 'short' }, {}, [])).toThrow(RangeError);
  });
});

describe('dialogs this proxy serves (§12, §16.4)', () => {
  const request = invite();
  const rr = ourRecordRoute(request);

  it('our Record-Route carries the token in its user part', () => {
    expect(rr).toMatch(/^<sip:[A-Za-z0-9_-]{20,}@edge\.example\.com:5060;lr;sipedge>$/);
  });

  it('a request of the dialog from either side, with our Record-Route as its Route, is inside it', () => {
    expect(dialogOf(inDialog('BYE', rr, { from: 'caller-tag', to: 'callee-tag' }))).toEqual({});
    // The callee's requests: From and To the other way round (§12.2.1.1).
    expect(dialogOf(inDialog('BYE', rr, { from: 'callee-tag', to: 'caller-tag' }))).toEqual({});
  });

  it('after a strict router, our Record-Route as the Request-URI counts too (§16.4 ¶1)', () => {
    const uri = rr.slice(1, -1);
    const strict = msg([
      `BYE ${uri} SIP/2.0`,
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKstrict',
      'Max-Forwards: 70',
      'Route: <sip:bob@192.0.2.20:5070>',
      'To: <sip:bob@example.com>;tag=callee-tag',
      'From: <sip:alice@example.com>;tag=caller-tag',
      'Call-ID: call-1@ua',
      'CSeq: 2 BYE',
    ]);
    expect(dialogOf(strict)).toEqual({});
  });

  it('without a To tag, with a made-up tag, another Call-ID, a plain Route or a changed token: not inside', () => {
    expect(dialogOf(inDialog('INVITE', rr, { from: 'caller-tag' }))).toBeUndefined();
    expect(dialogOf(inDialog('INVITE', rr, { from: 'made-up', to: 'also-made-up' }))).toBeUndefined();
    expect(dialogOf(inDialog('MESSAGE', rr, { from: 'caller-tag', to: 'x' }, 'another-call@evil'))).toBeUndefined();
    expect(dialogOf(inDialog('BYE', '<sip:127.0.0.1:5060;lr>', { from: 'caller-tag', to: 'x' }))).toBeUndefined();
    expect(dialogOf(inDialog('BYE', '<sip:rr@127.0.0.1:5060;lr;sipedge>', { from: 'a', to: 'b' }))).toBeUndefined();
    const forged = rr.replace(/sip:([^@]+)@/, (_, t: string) => `sip:${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}@`);
    expect(dialogOf(inDialog('BYE', forged, { from: 'caller-tag', to: 'callee-tag' }))).toBeUndefined();
  });

  it('a double Record-Route (RFC 5658): each side reaches the other over its flow, both Routes consumed', () => {
    const caller = {
      transport: 'tcp',
      address: '203.0.113.7',
      port: 50123,
      edgeId: 'edge-1',
      flowId: 'f-caller',
    } as const;
    const callee = { transport: 'udp', address: '198.51.100.20', port: 40000, edgeId: 'edge-2' } as const;
    const sides = dialogRecordRoute(KEYS, request, {
      downstream: { transport: 'udp', flow: callee },
      upstream: { transport: 'tcp', flow: caller },
    });
    const forwarded = forwardRequest(request, request.requestUri as SipUri, {
      config: TEST_CONFIG,
      branch: forkBranch('c1', loopHash(request), 0, 0),
      recordRoute: true,
      recordRouteSides: sides,
    });
    const [down, up] = forwarded.message.values('record-route');
    expect(down).toMatch(/^<sip:[A-Za-z0-9_-]+@edge\.example\.com:5060;lr;sipedge>$/);
    expect(up).toMatch(/^<sip:[A-Za-z0-9_-]+@edge\.example\.com:5060;transport=tcp;lr;sipedge>$/);
    // The caller's route set is the Record-Routes reversed; the callee's, in order (§12.1).
    const fromCaller = inDialog('BYE', `${up}, ${down}`, { from: 'caller-tag', to: 'callee-tag' });
    const routed = dialogRoute(KEYS, fromCaller, preprocessRoutes(fromCaller, TEST_CONFIG), TEST_CONFIG, {
      transport: 'tcp',
      address: caller.address,
      port: caller.port,
      flowId: 'f-caller',
    });
    expect(routed?.flow).toEqual(callee);
    expect(routed?.request.values('route')).toEqual([]);
    const fromCallee = inDialog('BYE', `${down}, ${up}`, { from: 'callee-tag', to: 'caller-tag' });
    expect(dialogOf(fromCallee, { transport: 'udp', address: callee.address, port: callee.port })).toEqual({
      flow: caller,
    });
    // A second Route of ours that does not verify makes the request no dialog request at all.
    const forgedBelow = inDialog('BYE', `${up}, <sip:forged@edge.example.com;lr;sipedge>`, {
      from: 'caller-tag',
      to: 'callee-tag',
    });
    expect(dialogOf(forgedBelow)).toBeUndefined();
  });

  it('a token of ours on a URI that is not ours does not count', () => {
    const elsewhere = rr.replace('edge.example.com:5060', 'proxy.evil.example');
    expect(dialogOf(inDialog('BYE', elsewhere, { from: 'caller-tag', to: 'callee-tag' }))).toBeUndefined();
  });
});
