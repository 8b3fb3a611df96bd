import { createHash } from 'node:crypto';
import { type SipMessage, buildResponse, parseMessage, parseSipUriStrict, parseUri } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type ProxyConfig,
  addressFamily,
  forkBranch,
  forwardRequest,
  forwardResponse,
  finishForward,
  isOurVia,
  loopHash,
  prepareForward,
  preprocessRoutes,
  statelessBranch,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';

const config: ProxyConfig = TEST_CONFIG;

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

function msg(lines: string[], body = ''): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

function invite(uri = 'sip:bob@example.com', extra: string[] = [], body = ''): SipMessage {
  return msg(
    [
      `INVITE ${uri} SIP/2.0`,
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101',
      'Max-Forwards: 70',
      'To: Bob <sip:bob@example.com>',
      'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'CSeq: 314159 INVITE',
      'Contact: <sip:alice@pc33.atlanta.example.com>',
      ...extra,
    ],
    body,
  );
}

const branch = forkBranch('ctx1', 'AAAAAAAAAA', 0, 0);

function lines(message: SipMessage): string[] {
  const text = message.toBuffer().toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

function header(message: SipMessage, name: string): string[] {
  return message.rows.filter((r) => r.key === name.toLowerCase()).map((r) => `${r.name}: ${r.value}`);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The INVITE with `extra` rows and then `Content-Length: 0`. */
const emptyInvite = (uri = 'sip:bob@example.com', extra: string[] = []) => invite(uri, [...extra, 'Content-Length: 0']);

/** forwardRequest to `target` with this file's config and branch, no Record-Route unless `options` say so. */
function forward(
  request: SipMessage,
  target: string | Parameters<typeof forwardRequest>[1],
  options: Partial<Parameters<typeof forwardRequest>[2]> = {},
) {
  const uri = typeof target === 'string' ? parseSipUriStrict(target) : target;
  return forwardRequest(request, uri, { config, branch, recordRoute: false, ...options });
}

describe('§16.6 step 2: Request-URI', () => {
  it('is replaced by the target (location service), minus parameters not allowed in a Request-URI', () => {
    const target = parseSipUriStrict('sip:bob@192.0.2.44:5062;transport=tcp;method=INVITE?Subject=x');
    const { message, nextHop } = forward(emptyInvite(), target);
    expect(lines(message)[0]).toBe('INVITE sip:bob@192.0.2.44:5062;transport=tcp SIP/2.0');
    expect(nextHop).toMatchObject({ host: '192.0.2.44', port: 5062, transport: 'tcp' });
  });
});

describe('§16.6 step 3: Max-Forwards', () => {
  /** The rows of an OPTIONS after its Via and Max-Forwards, which pass unchanged. */
  const after = (callId: string) => [
    'To: <sip:bob@example.com>',
    'From: <sip:alice@atlanta.example.com>;tag=1',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
  ];

  it('Max-Forwards 5 → downstream sees 4', () => {
    const rest = after('mf5');
    const req = msg([
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmf5',
      'Max-Forwards: 5',
      ...rest,
    ]);
    const { message } = forward(req, req.requestUri as never);
    expect(lines(message)).toEqual([
      'OPTIONS sip:bob@example.com SIP/2.0',
      `Via: SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmf5',
      'Max-Forwards: 4',
      ...rest,
    ]);
  });

  it('no Max-Forwards → downstream sees 70 (a new row on top)', () => {
    const req = msg([
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmf',
      ...after('mf'),
    ]);
    const { message } = forward(req, 'sip:bob@example.com');
    expect(lines(message).slice(0, 4)).toEqual([
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Max-Forwards: 70',
      `Via: SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmf',
    ]);
    expect(message.maxForwards).toBe(70);
  });

  it('Max-Forwards 0 cannot be forwarded (validateRequest answers 483 first)', () => {
    const req = emptyInvite();
    req.set('Max-Forwards', '0');
    expect(() => forward(req, 'sip:bob@example.com')).toThrow(RangeError);
  });
});

describe('§16.6 step 4: Record-Route', () => {
  it('top Record-Route <sip:rr@edge.example.com:5060;lr;sipedge> above the existing ones', () => {
    const req = invite('sip:bob@example.com', ['Record-Route: <sip:p1.example.net;lr>', 'Content-Length: 0']);
    const { message } = forward(req, 'sip:bob@192.0.2.44', { recordRoute: true });
    expect(header(message, 'Record-Route')).toEqual([
      'Record-Route: <sip:rr@edge.example.com:5060;lr;sipedge>',
      'Record-Route: <sip:p1.example.net;lr>',
    ]);
    expect(message.recordRoutes[0]!.uri.kind === 'sip' && message.recordRoutes[0]!.uri.lr).toBe(true);
  });

  it('a new row on top when there is none; the given token is the user part', () => {
    const { message } = forward(emptyInvite(), 'sip:bob@192.0.2.44', {
      recordRoute: true,
      recordRouteToken: 'e7.Xk-2',
    });
    expect(lines(message).slice(0, 3)).toEqual([
      'INVITE sip:bob@192.0.2.44 SIP/2.0',
      'Record-Route: <sip:e7.Xk-2@edge.example.com:5060;lr;sipedge>',
      `Via: SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
    ]);
    expect(() => forward(invite(), 'sip:bob@192.0.2.44', { recordRoute: true, recordRouteToken: 'a@b' })).toThrow(
      TypeError,
    );
  });

  it('the 200 carries it back; the BYE routed by it reaches the edge and goes on with our Route popped', () => {
    const { message } = forward(emptyInvite(), 'sip:bob@192.0.2.44', { recordRoute: true });
    const ok = buildResponse(parseMessage(message.toBuffer()), 200, { toTag: 'uas1' });
    for (const value of parseMessage(message.toBuffer()).values('Record-Route')) ok.append('Record-Route', value);
    const routeSet = parseMessage(ok.toBuffer()).values('Record-Route');
    expect(routeSet).toEqual(['<sip:rr@edge.example.com:5060;lr;sipedge>']);
    const bye = msg([
      'BYE sip:alice@pc33.atlanta.example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.44:5060;branch=z9hG4bKbye',
      'Max-Forwards: 70',
      `Route: ${routeSet[0]}`,
      'To: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'From: Bob <sip:bob@example.com>;tag=uas1',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'CSeq: 1 BYE',
      'Content-Length: 0',
    ]);
    const pre = preprocessRoutes(bye, config);
    expect(pre.actions).toEqual([{ kind: 'own-route-removed', route: routeSet[0] }]);
    const out = forward(pre.request, pre.request.requestUri as never, {
      branch: forkBranch('ctx2', loopHash(bye), 0, 0),
    });
    expect(out.message.has('Route')).toBe(false);
    expect(out.nextHop.host).toBe('pc33.atlanta.example.com');
  });

  it('SIPS target → sips Record-Route with the TLS port; TLS client to a sip: target → sip Record-Route', () => {
    const sips = forward(emptyInvite('sips:bob@example.com'), 'sips:bob@192.0.2.44', {
      recordRoute: true,
      outboundTransport: 'tls',
    });
    expect(header(sips.message, 'Record-Route')).toEqual(['Record-Route: <sips:rr@edge.example.com:5061;lr;sipedge>']);
    expect(header(sips.message, 'Via')[0]).toBe(`Via: SIP/2.0/TLS edge.example.com:5061;branch=${branch}`);

    const tlsClient = emptyInvite();
    tlsClient.replaceFirst('Via', 'SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
    const plain = forward(tlsClient, 'sip:bob@192.0.2.44;transport=tcp', { recordRoute: true });
    expect(header(plain.message, 'Record-Route')).toEqual(['Record-Route: <sip:rr@edge.example.com:5060;lr;sipedge>']);
    expect(plain.transport).toBe('tcp');
  });

  it('a sips top Route makes it sips; without a TLS port the URI has none', () => {
    const noTlsPort = { ...config, advertised: { host: 'edge.example.com', port: 5060 } };
    const req = emptyInvite('sip:bob@example.com', ['Route: <sips:p2.example.net;lr>']);
    const { message, nextHop } = forward(req, 'sip:bob@example.com', {
      config: noTlsPort,
      recordRoute: true,
      outboundTransport: 'tls',
    });
    expect(header(message, 'Record-Route')).toEqual(['Record-Route: <sips:rr@edge.example.com;lr;sipedge>']);
    expect(header(message, 'Via')[0]).toBe(`Via: SIP/2.0/TLS edge.example.com;branch=${branch}`);
    expect(nextHop).toMatchObject({ host: 'p2.example.net', transport: 'tls' });
  });
});

describe('RFC 5658: a request crossing between IPv4 and IPv6', () => {
  const dual: ProxyConfig = {
    ...config,
    advertised: { host: '192.0.2.10', port: 5060, ipv6Host: '2001:db8::10' },
  };

  it("the Record-Route facing each side and the Via name our address of that side's family", () => {
    const prepared = prepareForward(emptyInvite(), parseSipUriStrict('sip:bob@[2001:db8::44]'), {
      config: dual,
      recordRoute: true,
      recordRouteSides: {
        downstream: { token: 'down', transport: 'udp', family: 6 },
        upstream: { token: 'up', transport: 'udp', family: 4 },
      },
    });
    const out = finishForward(prepared, { config: dual, branch, outboundFamily: 6 });
    expect(header(out.message, 'Record-Route')).toEqual([
      'Record-Route: <sip:down@[2001:db8::10]:5060;lr;sipedge>',
      'Record-Route: <sip:up@192.0.2.10:5060;lr;sipedge>',
    ]);
    expect(header(out.message, 'Via')[0]).toBe(`Via: SIP/2.0/UDP [2001:db8::10]:5060;branch=${branch}`);
    // The response coming back through that Via is ours, and so is a request routed by either URI.
    expect(isOurVia(out.message.topVia!, dual)).toBe(true);
    for (const rr of out.message.values('Record-Route')) {
      const bye = invite('sip:alice@192.0.2.101', [`Route: ${rr}`, 'Content-Length: 0']);
      expect(preprocessRoutes(bye, dual).actions).toEqual([{ kind: 'own-route-removed', route: rr }]);
    }
  });

  it('an IPv4 peer, a host name or no IPv6 address configured: the advertised host', () => {
    const toV4 = finishForward(
      prepareForward(invite(), parseSipUriStrict('sip:bob@192.0.2.44'), { config: dual, recordRoute: false }),
      { config: dual, branch, outboundFamily: 4 },
    );
    expect(toV4.message.topVia!.host).toBe('192.0.2.10');
    const v6WithoutAddress = finishForward(
      prepareForward(invite(), parseSipUriStrict('sip:bob@[2001:db8::44]'), { config, recordRoute: false }),
      { config, branch, outboundFamily: 6 },
    );
    expect(v6WithoutAddress.message.topVia!.host).toBe('edge.example.com');
    expect(addressFamily('[2001:db8::44]')).toBe(6);
    expect(addressFamily('192.0.2.44')).toBe(4);
    expect(addressFamily('bob.example.com')).toBeUndefined();
  });
});

describe('§16.6 step 6: strict next hop (§16.12.1.2)', () => {
  it('next Route <sip:p3.middle.com> without lr → p3 receives BYE sip:p3.middle.com, the old R-URI last', () => {
    // §16.12.1.2: the BYE U2 sends to P4 (us). The rows after the Routes pass unchanged.
    const rest = [
      'To: <sip:caller@u1.example.com>;tag=1',
      'From: <sip:callee@domain.com>;tag=2',
      'Call-ID: strict1',
      'CSeq: 7 BYE',
      'Content-Length: 0',
    ];
    const req = msg([
      'BYE sip:caller@u1.example.com SIP/2.0',
      'Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bKu2bye',
      'Max-Forwards: 70',
      'Route: <sip:edge.example.com;lr>',
      'Route: <sip:p3.middle.com>',
      'Route: <sip:p2.example.com;lr>',
      'Route: <sip:p1.example.com;lr>',
      ...rest,
    ]);
    const pre = preprocessRoutes(req, config);
    const { message, nextHop } = forward(pre.request, 'sip:caller@u1.example.com');
    expect(lines(message)).toEqual([
      'BYE sip:p3.middle.com SIP/2.0',
      `Via: SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
      'Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bKu2bye',
      'Max-Forwards: 69',
      'Route: <sip:p2.example.com;lr>',
      'Route: <sip:p1.example.com;lr>',
      ...rest,
      'Route: <sip:caller@u1.example.com>',
    ]);
    expect(message.values('Route')).toEqual([
      '<sip:p2.example.com;lr>',
      '<sip:p1.example.com;lr>',
      '<sip:caller@u1.example.com>',
    ]);
    expect(nextHop).toEqual({ uri: parseUri('sip:p3.middle.com'), host: 'p3.middle.com' });
  });

  it('a loose top Route is left alone and is the next hop', () => {
    const req = invite('sip:bob@example.com', [
      'Route: <sip:p2.example.com:5070;lr;transport=tcp>',
      'Content-Length: 0',
    ]);
    const { message, nextHop } = forward(req, 'sip:bob@example.com', { outboundTransport: 'tcp' });
    expect(message.requestUriText).toBe('sip:bob@example.com');
    expect(message.values('Route')).toEqual(['<sip:p2.example.com:5070;lr;transport=tcp>']);
    expect(nextHop).toMatchObject({ host: 'p2.example.com', port: 5070, transport: 'tcp' });
  });
});

describe('§16.6 step 7: next hop', () => {
  it('maddr, explicit port and transport of the Request-URI; sips means tls', () => {
    const hop = (uri: string) =>
      prepareForward(invite(uri, ['Content-Length: 0']), parseSipUriStrict(uri), { config, recordRoute: false })
        .nextHop;
    expect(hop('sip:bob@example.com;maddr=198.51.100.7')).toMatchObject({ host: '198.51.100.7' });
    expect(hop('sip:bob@[2001:DB8::7]:5099;transport=TCP')).toMatchObject({
      host: '2001:db8::7',
      port: 5099,
      transport: 'tcp',
    });
    expect(hop('sips:bob@example.com')).toMatchObject({ host: 'example.com', transport: 'tls' });
    expect(hop('sip:bob@example.com')).toEqual({ uri: parseUri('sip:bob@example.com'), host: 'example.com' });
  });

  it('a SIPS Request-URI makes a sip: Route next hop tls too (§16.6 step 7), and UDP is refused', () => {
    const req = invite('sips:bob@example.com', ['Route: <sip:p2.example.net;lr>', 'Content-Length: 0']);
    const prepared = prepareForward(req, parseSipUriStrict('sips:bob@example.com'), { config, recordRoute: false });
    expect(prepared.nextHop).toMatchObject({ host: 'p2.example.net', transport: 'tls' });
    expect(() => finishForward(prepared, { config, branch, outboundTransport: 'udp' })).toThrow(TypeError);
  });

  it('a tel Request-URI goes to its Route; with no Route there is nothing to route on', () => {
    const req = invite('tel:+15551234', ['Route: <sip:gw.example.net;lr>', 'Content-Length: 0']);
    const target = req.requestUri as never;
    const { message, nextHop } = forward(req, target);
    expect(message.requestUriText).toBe('tel:+15551234');
    expect(nextHop.host).toBe('gw.example.net');
    expect(() => forward(invite('tel:+15551234'), target)).toThrow(TypeError);
  });
});

describe('§16.6 step 8: Via', () => {
  it('forking to 2 contacts → two different z9hG4bK branches, one per attempt too', () => {
    const req = emptyInvite();
    const loop = loopHash(req);
    const targets = ['sip:bob@192.0.2.44', 'sip:bob@192.0.2.45'];
    const sent = targets.map(
      (t, i) => forward(req, t, { branch: forkBranch('ctx9', loop, i, 0), recordRoute: true }).message,
    );
    const branches = sent.map((m) => m.topVia!.branch!);
    expect(branches[0]).not.toBe(branches[1]);
    for (const b of branches) expect(b.startsWith('z9hG4bK')).toBe(true);
    expect(header(sent[0]!, 'Via')[0]).toBe(`Via: SIP/2.0/UDP edge.example.com:5060;branch=${branches[0]}`);
    // A second attempt at the first target (next DNS tuple) gets yet another branch.
    const prepared = prepareForward(req, parseSipUriStrict(targets[0]!), { config, recordRoute: true });
    const retry = finishForward(prepared, { config, branch: forkBranch('ctx9', loop, 0, 1) });
    expect(branches).not.toContain(retry.message.topVia!.branch);
    // The prepared request is untouched by an attempt.
    expect(prepared.message.vias).toHaveLength(1);
  });

  it('§18.1.1: a 1.5 KB INVITE to a UDP next hop goes over TCP with top Via SIP/2.0/TCP', () => {
    const bigSdp = SDP + 'a=x-pad:' + 'x'.repeat(1100) + '\r\n';
    const req = invite(
      'sip:bob@example.com',
      ['Content-Type: application/sdp', `Content-Length: ${bigSdp.length}`],
      bigSdp,
    );
    expect(req.toBuffer().length).toBeGreaterThan(1300);
    const out = forward(req, 'sip:bob@192.0.2.44', { recordRoute: true, outboundTransport: 'udp' });
    expect(out.transport).toBe('tcp');
    expect(header(out.message, 'Via')[0]).toBe(`Via: SIP/2.0/TCP edge.example.com:5060;branch=${branch}`);
    expect(out.message.body.equals(req.body)).toBe(true);
  });

  it('§18.1.1: a small INVITE stays on UDP; a next hop pinned to transport=udp stays on UDP however large', () => {
    const small = forward(emptyInvite(), 'sip:bob@192.0.2.44', { recordRoute: true });
    expect(small.transport).toBe('udp');
    expect(small.message.topVia!.transport).toBe('UDP');

    const big = invite('sip:bob@example.com', [`X-Pad: ${'y'.repeat(1400)}`, 'Content-Length: 0']);
    const pinned = forward(big, 'sip:bob@192.0.2.44;transport=udp', { recordRoute: true });
    expect(pinned.transport).toBe('udp');
    expect(pinned.message.topVia!.transport).toBe('UDP');
  });

  it('§16.11: an INVITE received twice and forwarded statelessly → two byte-identical downstream INVITEs', () => {
    const received = () => invite('sip:bob@example.com', ['Content-Type: application/sdp'], SDP);
    const send = (req: SipMessage) =>
      forward(req, 'sip:bob@192.0.2.44', { branch: statelessBranch(req), recordRoute: true });
    const first = send(received());
    const second = send(received());
    expect(second.message.topVia!.branch).toBe(first.message.topVia!.branch);
    expect(second.message.toBuffer().equals(first.message.toBuffer())).toBe(true);
    expect(second.nextHop).toEqual(first.nextHop);
    // Its CANCEL goes to the same target with the matching branch.
    const cancel = msg([
      'CANCEL sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101',
      'Max-Forwards: 70',
      'To: Bob <sip:bob@example.com>',
      'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'CSeq: 314159 CANCEL',
      'Content-Length: 0',
    ]);
    const cancelled = forward(cancel, 'sip:bob@192.0.2.44', { branch: statelessBranch(cancel) });
    expect(cancelled.message.topVia!.branch).toBe(first.message.topVia!.branch);
    expect(cancelled.nextHop).toEqual(first.nextHop);
  });

  it('refuses a branch without the magic cookie', () => {
    expect(() => forward(invite(), 'sip:bob@192.0.2.44', { branch: 'abc' })).toThrow(TypeError);
  });
});

describe('§16.6 step 9: Content-Length', () => {
  it('UDP INVITE without Content-Length routed to a TCP target → the correct Content-Length', () => {
    const req = invite('sip:bob@example.com', ['Content-Type: application/sdp'], SDP);
    expect(req.has('Content-Length')).toBe(false);
    const out = forward(req, 'sip:bob@192.0.2.44;transport=tcp');
    expect(out.transport).toBe('tcp');
    expect(header(out.message, 'Content-Length')).toEqual([`Content-Length: ${Buffer.byteLength(SDP)}`]);
    expect(lines(out.message).at(-1)).toBe('Content-Length: 149');
    expect(out.message.body.toString('latin1')).toBe(SDP);
  });

  it('over UDP nothing is added', () => {
    const req = invite('sip:bob@example.com', ['Content-Type: application/sdp'], SDP);
    const out = forward(req, 'sip:bob@192.0.2.44');
    expect(out.message.has('Content-Length')).toBe(false);
  });
});

describe('§16.6 step 1: the copy', () => {
  it('unknown method and headers, folded and compact rows: every other row byte-identical and in order, body unchanged', () => {
    const req = msg(
      [
        'FOO sip:bob@remote.test SIP/2.0',
        'v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKfoo1',
        'Max-Forwards: 70',
        'X-B: second,   kept',
        't: Bob <sip:bob@remote.test>',
        'f: "Doe, John \\"JD\\"" <sip:j@x.example>;tag=1',
        'i: foo-call@pc33',
        'cSeQ: 9 FOO',
        'Subject: a',
        '  b',
        'X-A: first',
        'Date: not a date',
        'c: application/sdp',
        `l: ${Buffer.byteLength(SDP)}`,
      ],
      SDP,
    );
    const before = req.rows.map((r) => r.raw);
    const { message } = forward(req, req.requestUri as never);
    const out = parseMessage(message.toBuffer());
    expect(out.method).toBe('FOO');
    expect(out.requestUriText).toBe('sip:bob@remote.test');
    const kept = out.rows.filter((r) => r.key !== 'max-forwards').map((r) => r.raw);
    expect(kept).toEqual([
      `Via: SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
      ...before.filter((r) => r !== 'Max-Forwards: 70'),
    ]);
    expect(out.rows.map((r) => r.raw)).toContain('Max-Forwards: 69');
    expect(sha256(out.body)).toBe(sha256(Buffer.from(SDP, 'latin1')));
    // The re-rendered Max-Forwards row keeps its place between the Vias and X-B.
    expect(out.rows.map((r) => r.key).slice(0, 4)).toEqual(['via', 'via', 'max-forwards', 'x-b']);
  });

  it('an INVITE with X-A/X-B plus SDP keeps the X-* order and the body SHA-256', () => {
    const req = invite(
      'sip:bob@example.com',
      ['X-A: 1', 'X-B: 2', 'X-A: 3', 'Content-Type: application/sdp', `Content-Length: ${SDP.length}`],
      SDP,
    );
    const { message } = forward(req, 'sip:bob@192.0.2.44', { recordRoute: true });
    const out = parseMessage(message.toBuffer());
    expect(out.rows.filter((r) => r.key.startsWith('x-')).map((r) => r.raw)).toEqual(['X-A: 1', 'X-B: 2', 'X-A: 3']);
    expect(sha256(out.body)).toBe(sha256(req.body));
  });
});

describe('forwardResponse (§16.7 step 3, §16.11) and isOurVia', () => {
  /** The rows after the Vias, which pass unchanged. */
  const rest = [
    'To: Bob <sip:bob@example.com>;tag=uas1',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
  ];

  function response(vias: string[]): SipMessage {
    return msg(['SIP/2.0 180 Ringing', ...vias.map((v) => `Via: ${v}`), ...rest]);
  }

  it('removes our Via and sends to the next one (received/rport)', () => {
    const res = response([
      `SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
      'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101;rport=40000',
    ]);
    expect(isOurVia(res.topVia!, config)).toBe(true);
    const out = forwardResponse(res)!;
    expect(out.destination).toEqual({ address: '192.0.2.101', port: 40000 });
    expect(out.via.transport).toBe('UDP');
    expect(lines(out.message)).toEqual([
      'SIP/2.0 180 Ringing',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101;rport=40000',
      ...rest,
    ]);
    expect(res.vias).toHaveLength(2);
  });

  it('adds Content-Length toward a stream transport; undefined when no Via remains', () => {
    const tcp = forwardResponse(
      response([
        `SIP/2.0/UDP edge.example.com:5060;branch=${branch}`,
        'SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKt',
      ]),
    )!;
    expect(header(tcp.message, 'Content-Length')).toEqual(['Content-Length: 0']);
    expect(tcp.destination).toEqual({ address: 'pc33.atlanta.example.com', port: 5060 });
    expect(forwardResponse(response([`SIP/2.0/UDP edge.example.com:5060;branch=${branch}`]))).toBeUndefined();
  });

  it('isOurVia: our host with our port (or the default one); others are not ours', () => {
    const via = (v: string) => response([v]).topVia!;
    expect(isOurVia(via('SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1'), config)).toBe(true);
    expect(isOurVia(via('SIP/2.0/TLS EDGE.example.com;branch=z9hG4bK1'), config)).toBe(true);
    expect(isOurVia(via('SIP/2.0/UDP edge.example.com:5070;branch=z9hG4bK1'), config)).toBe(false);
    expect(isOurVia(via('SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK1'), config)).toBe(false);
  });
});
