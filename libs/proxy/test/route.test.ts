import { type SipMessage, type SipUri, parseMessage, parseUri } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type ProxyConfig,
  RR_MARKER,
  forkBranch,
  forwardRequest,
  isOurRecordRouteUri,
  isOurUri,
  loopHash,
  preprocessRoutes,
  recordRouteUri,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';

const config: ProxyConfig = TEST_CONFIG;

function msg(lines: string[], body = ''): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

function bye(uri: string, routes: string[]): SipMessage {
  return msg([
    `BYE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP u1.example.com:5060;branch=z9hG4bKbye1',
    'Max-Forwards: 70',
    ...routes,
    'To: Bob <sip:callee@example.com>;tag=314159',
    'From: Alice <sip:caller@example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@u1.example.com',
    'CSeq: 2 BYE',
    'Content-Length: 0',
  ]);
}

/** The request after §16.4 forwarded to its Request-URI (not retargeted), without Record-Route. */
function forward(request: SipMessage) {
  const target = request.requestUri as SipUri;
  return forwardRequest(request, target, {
    config,
    branch: forkBranch('c1', loopHash(request), 0, 0),
    recordRoute: false,
  });
}

function header(message: SipMessage, name: string): string[] {
  return message.rows.filter((r) => r.key === name.toLowerCase()).map((r) => `${r.name}: ${r.value}`);
}

describe('§16.4 own top Route (§16.12.1.1)', () => {
  it('BYE with Route: <sip:edge;lr>,<sip:p2;lr> → p2 receives Route: <sip:p2;lr> only, R-URI unchanged', () => {
    const req = bye('sip:callee@u2.example.com', ['Route: <sip:edge.example.com;lr>,<sip:p2.example.com;lr>']);
    const { request, actions } = preprocessRoutes(req, config);
    expect(actions).toEqual([{ kind: 'own-route-removed', route: '<sip:edge.example.com;lr>' }]);
    expect(request.requestUriText).toBe('sip:callee@u2.example.com');
    expect(header(request, 'Route')).toEqual(['Route: <sip:p2.example.com;lr>']);

    const { message, nextHop } = forward(request);
    expect(message.toString().split('\r\n')[0]).toBe('BYE sip:callee@u2.example.com SIP/2.0');
    expect(header(message, 'Route')).toEqual(['Route: <sip:p2.example.com;lr>']);
    expect(nextHop).toEqual({ uri: parseUri('sip:p2.example.com;lr'), host: 'p2.example.com' });
    // The input is not modified.
    expect(header(req, 'Route')).toEqual(['Route: <sip:edge.example.com;lr>,<sip:p2.example.com;lr>']);
  });

  it('with one Route row per value, the other rows keep their text and order', () => {
    const req = bye('sip:callee@u2.example.com', [
      'Route: <sip:edge.example.com;lr>',
      'Route: <sip:p2.example.com;lr>',
      'Route:   <sip:p3.example.com;lr>',
    ]);
    const { request } = preprocessRoutes(req, config);
    expect(request.rows.filter((r) => r.key === 'route').map((r) => r.raw)).toEqual([
      'Route: <sip:p2.example.com;lr>',
      'Route:   <sip:p3.example.com;lr>',
    ]);
  });

  it('our Route by address and port; a port or host of someone else is kept', () => {
    const ours = ['<sip:192.0.2.10;lr>', '<sip:192.0.2.10:5061;transport=tcp;lr>', '<sips:edge.example.com:5061;lr>'];
    for (const route of ours) {
      const { actions } = preprocessRoutes(bye('sip:callee@u2.example.com', [`Route: ${route}`]), config);
      expect(actions).toEqual([{ kind: 'own-route-removed', route }]);
    }
    for (const route of [
      '<sip:192.0.2.10:5070;lr>',
      '<sip:p1.example.com;lr>',
      '<sip:edge.example.com.evil.test;lr>',
    ]) {
      const { request, actions } = preprocessRoutes(bye('sip:callee@u2.example.com', [`Route: ${route}`]), config);
      expect(actions).toEqual([]);
      expect(request.values('Route')).toEqual([route]);
    }
  });

  it('no Route and a Request-URI of someone else: nothing happens', () => {
    const req = bye('sip:callee@u2.example.com', []);
    const { request, actions } = preprocessRoutes(req, config);
    expect(actions).toEqual([]);
    expect(request.toBuffer().equals(req.toBuffer())).toBe(true);
  });
});

describe('§16.4 strict-router undo (§16.12.1.2)', () => {
  const rrUri = recordRouteUri(config, false); // what we put into the dialog's route set

  it('our Record-Route URI is recognised by host, port and marker', () => {
    expect(rrUri).toBe(`sip:rr@edge.example.com:5060;lr;${RR_MARKER}`);
    expect(isOurRecordRouteUri(parseUri(rrUri), config)).toBe(true);
    expect(isOurRecordRouteUri(parseUri('sip:rr@edge.example.com:5060;lr'), config)).toBe(false);
    expect(isOurRecordRouteUri(parseUri('sip:rr@p1.example.com;lr;sipedge'), config)).toBe(false);
  });

  it('BYE <edge RR URI> with Route: <sip:p1;lr>, <sip:caller@u1> → BYE sip:caller@u1 with Route: <sip:p1;lr>', () => {
    // A strict router (p3 in §16.12.1.2) put our Record-Route URI into the Request-URI.
    const req = bye(rrUri, ['Route: <sip:p1.example.com;lr>, <sip:caller@u1.example.com>']);
    const { request, actions } = preprocessRoutes(req, config);
    expect(actions).toEqual([
      { kind: 'strict-router-undo', recordRouteUri: rrUri, requestUri: 'sip:caller@u1.example.com' },
    ]);
    const { message, nextHop } = forward(request);
    const lines = message.toString().split('\r\n');
    expect(lines[0]).toBe('BYE sip:caller@u1.example.com SIP/2.0');
    expect(header(message, 'Route')).toEqual(['Route: <sip:p1.example.com;lr>']);
    expect(nextHop.host).toBe('p1.example.com');
  });

  it('the last Route in a row of its own goes away; earlier rows keep their text', () => {
    const req = bye(rrUri, ['Route:  <sip:p1.example.com;lr>', 'Route: <sip:caller@u1.example.com>;x=1']);
    const { request } = preprocessRoutes(req, config);
    expect(request.requestUriText).toBe('sip:caller@u1.example.com');
    expect(request.rows.filter((r) => r.key === 'route').map((r) => r.raw)).toEqual([
      'Route:  <sip:p1.example.com;lr>',
    ]);
  });

  it('§16.12.1.2 then §16.12.1.1: after the undo, our own Route on top is removed too', () => {
    const req = bye(rrUri, ['Route: <sip:edge.example.com;lr>, <sip:p1.example.com;lr>, <sip:caller@u1.example.com>']);
    const { request, actions } = preprocessRoutes(req, config);
    expect(actions.map((a) => a.kind)).toEqual(['strict-router-undo', 'own-route-removed']);
    expect(request.requestUriText).toBe('sip:caller@u1.example.com');
    expect(request.values('Route')).toEqual(['<sip:p1.example.com;lr>']);
  });

  it('a user at our host without the marker is not a Record-Route value', () => {
    const req = bye('sip:bob@edge.example.com', ['Route: <sip:p1.example.com;lr>']);
    const { request, actions } = preprocessRoutes(req, config);
    expect(actions).toEqual([]);
    expect(request.requestUriText).toBe('sip:bob@edge.example.com');
  });
});

describe('§16.4 maddr', () => {
  it('R-URI ;maddr=<edge-ip> → processed as if absent', () => {
    const req = bye('sip:callee@example.com;maddr=192.0.2.10', []);
    const { request, actions } = preprocessRoutes(req, config, { transport: 'udp', port: 5060 });
    expect(request.requestUriText).toBe('sip:callee@example.com');
    expect(actions).toEqual([
      { kind: 'maddr-stripped', before: 'sip:callee@example.com;maddr=192.0.2.10', after: 'sip:callee@example.com' },
    ]);
  });

  it('non-default port and transport go with it when the request came in on them; defaults stay', () => {
    const req = bye('sip:callee@example.com:5080;maddr=edge.example.com;transport=tcp;x=1', []);
    expect(preprocessRoutes(req, config, { transport: 'tcp', port: 5080 }).request.requestUriText).toBe(
      'sip:callee@example.com;x=1',
    );
    const defaults = bye('sip:callee@example.com:5060;transport=udp;maddr=example.com', []);
    expect(preprocessRoutes(defaults, config, { transport: 'udp', port: 5060 }).request.requestUriText).toBe(
      'sip:callee@example.com:5060;transport=udp',
    );
  });

  it('arrived on another port or transport than the URI says → left as it is', () => {
    const req = bye('sip:callee@example.com:5080;maddr=192.0.2.10;transport=tcp', []);
    expect(preprocessRoutes(req, config, { transport: 'udp', port: 5060 }).actions).toEqual([]);
    expect(preprocessRoutes(req, config, { transport: 'tcp', port: 5060 }).actions).toEqual([]);
    // Without knowing how it arrived: the URI's port must be one of ours.
    expect(preprocessRoutes(req, config).actions).toEqual([]);
  });

  it(';maddr=198.51.100.7 → untouched, and sent only there', () => {
    const req = bye('sip:callee@example.com;maddr=198.51.100.7', []);
    const { request, actions } = preprocessRoutes(req, config, { transport: 'udp', port: 5060 });
    expect(actions).toEqual([]);
    const { message, nextHop } = forward(request);
    expect(message.requestUriText).toBe('sip:callee@example.com;maddr=198.51.100.7');
    expect(nextHop.host).toBe('198.51.100.7');
    expect(nextHop.port).toBeUndefined();
  });
});

describe('isOurUri', () => {
  it('host names without a port are ours (SRV of our own name), addresses need our default port', () => {
    const other = { ...config, selfPorts: new Set([5080]), advertised: { host: 'edge.example.com', port: 5080 } };
    expect(isOurUri(parseUri('sip:edge.example.com;lr'), other)).toBe(true);
    expect(isOurUri(parseUri('sip:192.0.2.10;lr'), other)).toBe(false);
    expect(isOurUri(parseUri('sip:192.0.2.10:5080;lr'), other)).toBe(true);
    expect(isOurUri(parseUri('sip:p1.example.com;maddr=192.0.2.10'), config)).toBe(true);
    expect(isOurUri(parseUri('tel:+15551234'), config)).toBe(false);
    const v6 = { ...config, selfHosts: new Set(['2001:db8::1']) };
    expect(isOurUri(parseUri('sip:[2001:DB8::1];lr'), v6)).toBe(true);
    expect(isOurUri(parseUri('sip:[2001:db8::2];lr'), v6)).toBe(false);
  });
});
