import { type SipMessage, type SipUri, buildResponse, parseMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type RouteTokenKeys,
  concealRequest,
  concealResponse,
  dialogBinding,
  dialogRecordRoute,
  dialogRoute,
  forkBranch,
  forwardRequest,
  forwardResponse,
  hidesTopology,
  loopHash,
  openRouteToken,
  preprocessRoutes,
  sealRouteToken,
  signRouteToken,
  unmaskedContact,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';
import { expectBoundToken, msg, OTHER } from './support/route-token.js';

const KEYS: RouteTokenKeys = { secret: 'topology-test-secret-0123456789abcdefghij' };

/**
 * Alice (outside) calls through her provider's proxy, this proxy (edge.example.com, 192.0.2.10)
 * and an inside proxy to Bob (inside): each side must see none of the other's addresses.
 */
const ALICE = '203.0.113.5';
const ALICE_PROXY = '198.51.100.7';
const BOB = '10.0.0.20';
const BOB_PROXY = '10.0.0.8';
const ALICE_PROXY_FLOW = { transport: 'udp', address: ALICE_PROXY, port: 5060, edgeId: 'edge-1' } as const;

/** The INVITE as this proxy receives it from Alice's proxy (which Record-Routed). */
const received = msg([
  'INVITE sip:bob@example.com SIP/2.0',
  `Via: SIP/2.0/UDP ${ALICE_PROXY};branch=z9hG4bKpa1`,
  `Via: SIP/2.0/UDP ${ALICE}:5062;branch=z9hG4bKa1;rport=5062`,
  'Max-Forwards: 69',
  `Record-Route: <sip:${ALICE_PROXY};lr>`,
  'To: <sip:bob@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=alice-tag',
  'Call-ID: hidden-call',
  'CSeq: 1 INVITE',
  `Contact: "Alice" <sip:alice@${ALICE}:5062;ob>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>"`,
]);

/** What this proxy forwards to Bob's side: concealed, Record-Routed twice with sealed tokens. */
function forwardToBob(): SipMessage {
  const concealed = concealRequest(KEYS, TEST_CONFIG, received, { transport: 'udp', family: 4 });
  return forwardRequest(concealed.request, received.requestUri as SipUri, {
    config: TEST_CONFIG,
    branch: forkBranch('c1', loopHash(received), 0, 0),
    recordRoute: true,
    recordRouteSides: dialogRecordRoute(KEYS, received, {
      downstream: { transport: 'udp' },
      upstream: { transport: 'udp', flow: ALICE_PROXY_FLOW, routes: concealed.recordRoutes },
      sealed: true,
    }),
  }).message;
}

/** The INVITE as Bob gets it: Bob's proxy added its Via and Record-Route on top. */
function atBob(forwarded: SipMessage): SipMessage {
  const copy = forwarded.clone();
  copy.prepend('Via', `SIP/2.0/UDP ${BOB_PROXY};branch=z9hG4bKpb1`);
  copy.prepend('Record-Route', `<sip:${BOB_PROXY};lr>`);
  return copy;
}

/** Bob's 200 as it reaches this proxy (Bob's proxy removed its Via, §16.7 step 3). */
function bobAnswers(invite: SipMessage): SipMessage {
  const ok = buildResponse(invite, 200, {
    toTag: 'bob-tag',
    headers: [
      ...invite.values('record-route').map((rr): [string, string] => ['Record-Route', rr]),
      ['Contact', `<sip:bob@${BOB}:5080>;expires=3600`],
    ],
  });
  const back = parseMessage(ok.toBuffer());
  back.removeFirst('Via');
  return back;
}

/** A request of the dialog as it reaches this proxy: `routes` are what is left of its route set. */
function inDialog(uri: string, routes: string[], from: string, to: string, via: string): SipMessage {
  return msg([
    `BYE ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${via};branch=z9hG4bKbye`,
    'Max-Forwards: 69',
    ...routes.map((route) => `Route: ${route}`),
    `From: ${from}`,
    `To: ${to}`,
    'Call-ID: hidden-call',
    'CSeq: 2 BYE',
  ]);
}

/** The URI of a message's (first) Contact. */
function contactUri(message: SipMessage): SipUri {
  const [contact] = message.contacts;
  if (contact === undefined || contact === '*' || contact.uri.kind !== 'sip') throw new TypeError('no SIP Contact');
  return contact.uri;
}

const ARRIVAL = { transport: 'udp', address: '198.51.100.99', port: 5060 };

function routed(request: SipMessage) {
  return dialogRoute(KEYS, request, preprocessRoutes(request, TEST_CONFIG), TEST_CONFIG, ARRIVAL);
}

describe('sealed route tokens (AES-256-GCM, key by HKDF from the fleet secret)', () => {
  const content = {
    flow: ALICE_PROXY_FLOW,
    routes: [`<sip:${ALICE_PROXY};lr>`],
    contact: `sip:alice@${ALICE}:5062`,
  };

  it('open with the key and binding they were sealed with, and carry flow, routes and Contact', () => {
    const token = sealRouteToken(KEYS, content, ['a', 'b']);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openRouteToken(KEYS, token, [['x'], ['a', 'b']])).toEqual(content);
    expect(openRouteToken(KEYS, sealRouteToken(KEYS, {}, []), [[]])).toEqual({});
  });

  it('hide what they carry: no address in the decoded bytes, another nonce each time', () => {
    const token = sealRouteToken(KEYS, content, ['a']);
    const bytes = Buffer.from(token, 'base64url').toString('latin1');
    expect(bytes).not.toContain(ALICE);
    expect(bytes).not.toContain(ALICE_PROXY);
    expect(sealRouteToken(KEYS, content, ['a'])).not.toBe(token);
    // A signed token is readable: what topology hiding must not use.
    expect(Buffer.from(signRouteToken(KEYS, { flow: ALICE_PROXY_FLOW }, ['a']), 'base64url').toString()).toContain(
      ALICE_PROXY,
    );
  });

  it('do not open with another binding, another secret, or after any change', () => {
    const token = sealRouteToken(KEYS, content, ['a', 'b']);
    expectBoundToken(KEYS, token);
  });

  it('open with a previous secret during a rotation', () => {
    const rotated: RouteTokenKeys = { secret: KEYS.secret, previous: [OTHER.secret] };
    expect(openRouteToken(rotated, sealRouteToken(OTHER, content, ['a']), [['a']])).toEqual(content);
  });

  it('routes and a Contact are never signed in plain text', () => {
    expect(() => signRouteToken(KEYS, { routes: ['<sip:x;lr>'] }, [])).toThrow(TypeError);
    expect(() => signRouteToken(KEYS, { contact: 'sip:x' }, [])).toThrow(TypeError);
  });
});

describe('which messages hide topology', () => {
  const inside = (address: string) => address.startsWith('10.');
  it.each([
    ['off', BOB, ALICE, false],
    [undefined, BOB, ALICE, false],
    ['untrusted', ALICE, BOB, true],
    ['untrusted', BOB, ALICE, true],
    ['untrusted', BOB, BOB_PROXY, false],
    ['untrusted', ALICE, ALICE_PROXY, false],
    ['all', BOB, BOB_PROXY, true],
    ['all', ALICE, ALICE_PROXY, true],
  ] as const)('%s: from %s to %s → %s', (mode, from, to, hides) => {
    expect(hidesTopology(mode, inside, from, to)).toBe(hides);
  });
});

describe('topology hiding through a call (RFC 3261 §16.6, §16.7, §12)', () => {
  const forwarded = forwardToBob();
  const invite = atBob(forwarded);
  const upstream = forwardResponse(
    concealResponse(KEYS, TEST_CONFIG, bobAnswers(invite), received, { transport: 'udp', family: 4 }),
  )!;

  it("the request Bob gets carries none of Alice's side's addresses", () => {
    const text = invite.toString();
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(ALICE_PROXY);
    expect(invite.vias.map((v) => v.host)).toEqual([BOB_PROXY, 'edge.example.com']);
    const rr = invite.values('record-route');
    expect(rr).toHaveLength(3);
    expect(rr[0]).toBe(`<sip:${BOB_PROXY};lr>`);
    // Alice's Contact is ours, with its display name and header parameters kept.
    expect(invite.get('contact')).toMatch(
      /^"Alice" <sip:[A-Za-z0-9_-]+@edge\.example\.com:5060>;\+sip\.instance="<urn:uuid:0+-0000-0000-0000-0+1>"$/,
    );
    expect(unmaskedContact(KEYS, TEST_CONFIG, contactUri(invite), 'hidden-call', ['alice-tag'])?.toString()).toBe(
      `sip:alice@${ALICE}:5062;ob`,
    );
  });

  it("the response Alice gets carries none of Bob's side's addresses, and her own Vias and route again", () => {
    const text = upstream.message.toString();
    expect(text).not.toContain(BOB);
    expect(text).not.toContain(BOB_PROXY);
    expect(text).not.toContain('10.0.0.');
    expect(upstream.message.values('via')).toEqual(received.values('via'));
    expect(upstream.destination).toMatchObject({ address: ALICE_PROXY, port: 5060 });
    const rr = upstream.message.values('record-route');
    expect(rr).toHaveLength(3);
    expect(rr[2]).toBe(`<sip:${ALICE_PROXY};lr>`);
    expect(upstream.message.get('contact')).toMatch(/^<sip:[A-Za-z0-9_-]+@edge\.example\.com:5060>;expires=3600$/);
  });

  it("Alice's BYE gets Bob's side's route and Contact back", () => {
    // Alice's route set: the Record-Routes reversed (§12.1.2); her proxy consumed its own.
    const [, ...routes] = [...upstream.message.values('record-route')].reverse();
    const bye = inDialog(
      contactUri(upstream.message).toString(),
      routes,
      '"Alice" <sip:alice@example.com>;tag=alice-tag',
      '<sip:bob@example.com>;tag=bob-tag',
      ALICE_PROXY,
    );
    const result = routed(bye);
    expect(result?.request.requestUriText).toBe(`sip:bob@${BOB}:5080`);
    expect(result?.request.values('route')).toEqual([`<sip:${BOB_PROXY};lr>`]);
  });

  it("Bob's BYE gets Alice's side's route and Contact back, and her proxy's flow", () => {
    // Bob's route set: the Record-Routes in order; his proxy consumed its own.
    const [, ...routes] = invite.values('record-route');
    const bye = inDialog(
      contactUri(invite).toString(),
      routes,
      '<sip:bob@example.com>;tag=bob-tag',
      '"Alice" <sip:alice@example.com>;tag=alice-tag',
      BOB_PROXY,
    );
    const result = routed(bye);
    expect(result?.request.requestUriText).toBe(`sip:alice@${ALICE}:5062;ob`);
    expect(result?.request.values('route')).toEqual([`<sip:${ALICE_PROXY};lr>`]);
    expect(result?.flow).toEqual(ALICE_PROXY_FLOW);
  });

  it('a masked Contact opens in its own dialog only; Contact and Record-Route tokens do not stand for each other', () => {
    const masked = contactUri(invite);
    expect(unmaskedContact(KEYS, TEST_CONFIG, masked, 'another-call', ['alice-tag'])).toBeUndefined();
    expect(unmaskedContact(KEYS, TEST_CONFIG, masked, 'hidden-call', ['bob-tag'])).toBeUndefined();
    expect(unmaskedContact(OTHER, TEST_CONFIG, masked, 'hidden-call', ['alice-tag'])).toBeUndefined();
    expect(
      unmaskedContact(KEYS, TEST_CONFIG, masked.with({ host: 'proxy.evil.example', port: null }), 'hidden-call', [
        'alice-tag',
      ]),
    ).toBeUndefined();
    const [down] = upstream.message.values('record-route');
    const rrToken = /^<sip:([^@]+)@/.exec(down!)![1]!;
    expect(
      unmaskedContact(KEYS, TEST_CONFIG, masked.with({ user: rrToken }), 'hidden-call', ['alice-tag']),
    ).toBeUndefined();
    expect(openRouteToken(KEYS, masked.user!, [dialogBinding('hidden-call', 'alice-tag')])).toBeUndefined();
    // The same BYE under another Call-ID is no request of the dialog, and nothing is restored.
    const bye = inDialog(
      masked.toString(),
      invite.values('record-route').slice(1),
      '<sip:bob@example.com>;tag=bob-tag',
      '<sip:alice@example.com>;tag=alice-tag',
      BOB_PROXY,
    );
    bye.set('Call-ID', 'another-call');
    expect(routed(bye)).toBeUndefined();
  });
});
