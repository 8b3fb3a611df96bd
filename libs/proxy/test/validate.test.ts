import { type SipMessage, parseMessage, parseSipUriStrict } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type ProxyConfig,
  forkBranch,
  forwardRequest,
  isAddressedToSelf,
  loopHash,
  statelessBranch,
  validateRequest,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';

const config: ProxyConfig = { ...TEST_CONFIG, supported: ['path', 'gruu'] };

function msg(lines: string[], body = ''): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

function request(
  method: string,
  uri: string,
  extra: string[] = [],
  via = 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds',
): SipMessage {
  return msg([
    `${method} ${uri} SIP/2.0`,
    `Via: ${via}`,
    'To: Bob <sip:bob@example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    `CSeq: 314159 ${method}`,
    ...extra,
    'Content-Length: 0',
  ]);
}

/** validateRequest with this file's config, of `request(...)`. */
const validate = (...args: Parameters<typeof request>) => validateRequest(request(...args), config);

/** The result of a check that refuses the request with `status`. */
const refusal = (check: string, status: number) => ({ ok: false, check, status });

/** What the next hop would receive from us, parsed again as it comes back. */
function reparse(message: SipMessage): SipMessage {
  return parseMessage(message.toBuffer());
}

describe('§16.3 step 2: URI scheme', () => {
  it('INVITE http://x → 416', () => {
    expect(validate('INVITE', 'http://x', ['Max-Forwards: 70'])).toEqual(refusal('uri-scheme', 416));
    expect(validate('MESSAGE', 'mailto:bob@example.com')).toMatchObject({ status: 416 });
  });

  it('sip and sips are understood', () => {
    expect(validate('INVITE', 'sip:bob@example.com')).toEqual({ ok: true });
    expect(validate('INVITE', 'sips:bob@example.com')).toEqual({ ok: true });
  });

  it('tel is understood when a Route that is not ours gives it a next hop, else 416', () => {
    const viaGateway = request('INVITE', 'tel:+15551234', [
      'Route: <sip:edge.example.com;lr>, <sip:gw.example.net;lr>',
    ]);
    expect(validateRequest(viaGateway, config)).toEqual({ ok: true });
    expect(validate('INVITE', 'tel:+15551234')).toMatchObject({ ok: false, status: 416 });
    const onlyOurs = request('INVITE', 'tel:+15551234', ['Route: <sip:edge.example.com;lr>']);
    expect(validateRequest(onlyOurs, config)).toMatchObject({ ok: false, status: 416 });
  });

  it('a Route value that is not a SIP or SIPS URI → 416: nothing could be sent to it (found by the fuzz run)', () => {
    for (const route of ['<tel:123>', '<sip:gw.example.net;lr>, <http://x>', '<mailto:a@b>']) {
      expect(validate('INVITE', 'sip:bob@example.com', [`Route: ${route}`])).toEqual({
        ok: false,
        check: 'uri-scheme',
        status: 416,
        reason: 'Unsupported URI Scheme in Route',
      });
    }
    const telViaTel = request('INVITE', 'tel:+15551234', ['Route: <sip:gw.example.net;lr>, <tel:+15551234>']);
    expect(validateRequest(telViaTel, config)).toMatchObject({ ok: false, status: 416 });
  });
});

describe('§16.3 step 3: Max-Forwards', () => {
  it('Max-Forwards 0 INVITE → 483', () => {
    expect(validate('INVITE', 'sip:bob@example.com', ['Max-Forwards: 0'])).toEqual(refusal('max-forwards', 483));
  });

  it('Max-Forwards 0 OPTIONS to the edge → the caller may answer it (isAddressedToSelf), else 483', () => {
    const toEdge = request('OPTIONS', 'sip:edge.example.com', ['Max-Forwards: 0']);
    expect(isAddressedToSelf(toEdge, config)).toBe(true);
    expect(validateRequest(toEdge, config)).toMatchObject({ ok: false, status: 483 });
    const toBob = request('OPTIONS', 'sip:bob@example.com', ['Max-Forwards: 0']);
    expect(isAddressedToSelf(toBob, config)).toBe(false);
    expect(validateRequest(toBob, config)).toMatchObject({ ok: false, status: 483 });
  });

  it('Max-Forwards 1 and no Max-Forwards pass', () => {
    expect(validate('INVITE', 'sip:bob@example.com', ['Max-Forwards: 1'])).toEqual({ ok: true });
    expect(validate('INVITE', 'sip:bob@example.com')).toEqual({ ok: true });
  });

  it('isAddressedToSelf: our address with our port or none, no user part', () => {
    expect(isAddressedToSelf(request('OPTIONS', 'sip:192.0.2.10:5061'), config)).toBe(true);
    expect(isAddressedToSelf(request('OPTIONS', 'sip:192.0.2.10:5070'), config)).toBe(false);
    expect(isAddressedToSelf(request('OPTIONS', 'sip:EDGE.example.com;transport=tcp'), config)).toBe(true);
    expect(isAddressedToSelf(request('OPTIONS', 'sip:bob@edge.example.com'), config)).toBe(false);
    expect(isAddressedToSelf(request('OPTIONS', 'sip:other.example.com'), config)).toBe(false);
  });
});

describe('§16.3 step 4: loop detection', () => {
  /** The request a loop brings back: what we forwarded, with a further hop's Via on top. */
  function comeBack(forwarded: SipMessage): SipMessage {
    const back = reparse(forwarded);
    back.prepend('Via', 'SIP/2.0/UDP p2.example.net:5060;branch=z9hG4bKp2hop');
    return reparse(back);
  }

  /** What we send for `first` to `target`: on its first fork branch unless `branch` is given. */
  function forwarded(first: SipMessage, target: string, recordRoute: boolean, branch?: string): SipMessage {
    return forwardRequest(first, parseSipUriStrict(target), {
      config,
      branch: branch ?? forkBranch('ctx1', loopHash(first), 0, 0),
      recordRoute,
    }).message;
  }

  it('a request to a host that routes back to us unchanged → 482 on the second pass', () => {
    const first = request('INVITE', 'sip:bob@loop.test', ['Max-Forwards: 70']);
    expect(validateRequest(first, config)).toEqual({ ok: true });
    const message = forwarded(first, 'sip:bob@loop.test', true);
    const second = comeBack(message);
    expect(second.maxForwards).toBe(69);
    expect(validateRequest(second, config)).toEqual(refusal('loop', 482));
  });

  it('a loop of a statelessly forwarded request → 482', () => {
    const first = request('MESSAGE', 'sip:bob@loop.test', ['Max-Forwards: 70']);
    const message = forwarded(first, 'sip:bob@loop.test', false, statelessBranch(first));
    expect(validateRequest(comeBack(message), config)).toMatchObject({ ok: false, status: 482 });
  });

  it('alias rewrite (Request-URI changed) → a spiral, not a loop', () => {
    const first = request('INVITE', 'sip:alias@example.com', ['Max-Forwards: 70']);
    const message = forwarded(first, 'sip:bob@example.com', true);
    const second = comeBack(message);
    expect(second.vias.map((v) => v.host)).toEqual(['p2.example.net', 'edge.example.com', 'pc33.atlanta.example.com']);
    expect(validateRequest(second, config)).toEqual({ ok: true });
  });

  it('a changed Route or Proxy-Require also makes it a spiral', () => {
    const first = request('INVITE', 'sip:bob@loop.test', ['Route: <sip:p2.example.net;lr>']);
    const message = forwarded(first, 'sip:bob@loop.test', false);
    const back = reparse(message);
    back.removeFirst('Route'); // p2 removed its own Route and sent it back to us
    expect(validateRequest(comeBack(back), config)).toEqual({ ok: true });
  });

  it('the same branch under someone else’s sent-by, or a foreign branch under ours, is no loop', () => {
    const first = request('INVITE', 'sip:bob@loop.test');
    const branch = forkBranch('ctx1', loopHash(first), 0, 0);
    const foreignHost = request(
      'INVITE',
      'sip:bob@loop.test',
      [],
      `SIP/2.0/UDP other.example.net:5060;branch=${branch}`,
    );
    expect(validateRequest(foreignHost, config)).toEqual({ ok: true });
    const foreignBranch = request(
      'INVITE',
      'sip:bob@loop.test',
      [],
      'SIP/2.0/UDP edge.example.com:5060;branch=z9hG4bKabc',
    );
    expect(validateRequest(foreignBranch, config)).toEqual({ ok: true });
    const otherPort = request('INVITE', 'sip:bob@loop.test', [], `SIP/2.0/UDP edge.example.com:5070;branch=${branch}`);
    expect(validateRequest(otherPort, config)).toEqual({ ok: true });
  });
});

describe('§16.3 step 5: Proxy-Require', () => {
  it('Proxy-Require: foo → 420 with Unsupported: foo', () => {
    expect(validate('INVITE', 'sip:bob@example.com', ['Proxy-Require: foo'])).toEqual({
      ok: false,
      check: 'proxy-require',
      status: 420,
      headers: [['Unsupported', 'foo']],
    });
  });

  it('lists only the unknown tags, each once, as written; supported tags compare case-insensitively', () => {
    const req = request('INVITE', 'sip:bob@example.com', ['Proxy-Require: PATH, foo', 'Proxy-Require: Bar, gruu, FOO']);
    expect(validateRequest(req, config)).toMatchObject({ status: 420, headers: [['Unsupported', 'foo, Bar']] });
    const known = request('INVITE', 'sip:bob@example.com', ['Proxy-Require: Path, GRUU']);
    expect(validateRequest(known, config)).toEqual({ ok: true });
  });

  it('CANCEL and ACK carrying Proxy-Require are not rejected (§8.2.2.3)', () => {
    expect(validate('CANCEL', 'sip:bob@example.com', ['Proxy-Require: foo'])).toEqual({ ok: true });
    expect(validate('ACK', 'sip:bob@example.com', ['Proxy-Require: foo'])).toEqual({ ok: true });
  });
});

describe('merged requests (§16.3)', () => {
  it('two INVITEs with the same Call-ID, From tag and CSeq and different branches both validate', () => {
    // An upstream proxy forked one INVITE over two paths that both reach us (§8.2.2.2: the UAS merges).
    const viaA = 'SIP/2.0/UDP p1.example.net:5060;branch=z9hG4bKforkA';
    const viaB = 'SIP/2.0/UDP p1.example.net:5060;branch=z9hG4bKforkB';
    const extra = ['Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds', 'Max-Forwards: 69'];
    const a = request('INVITE', 'sip:bob@example.com', extra, viaA);
    const b = request('INVITE', 'sip:bob@example.com', extra, viaB);
    expect(a.callId).toBe(b.callId);
    expect(a.from.tag).toBe(b.from.tag);
    expect(a.cseq).toEqual(b.cseq);
    expect(validateRequest(a, config)).toEqual({ ok: true });
    expect(validateRequest(b, config)).toEqual({ ok: true });
  });
});
