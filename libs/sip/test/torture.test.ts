/**
 * RFC 4475 and RFC 5118 torture messages: one test per message, asserting the outcome that
 * fixtures/torture/<set>/INDEX.md gives. Deliberate choices where the RFC allows either are in
 * docs/sip-conformance.md (strict rejection of lwsstart, trws, ltgtruri, lwsruri, badaspec,
 * escruri; Max-Forwards above 255 rejected in scalar02 as well as the CSeq).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type SipMessage, type SipErrorCode, decodeUtf8, parseMessage, unescape } from '../src/index.js';
import { parseErrorOf } from './helpers.js';

const FIXTURES = new URL('./fixtures/torture/', import.meta.url);

function fixture(set: string, name: string): Buffer {
  return readFileSync(new URL(`${set}/${name}`, FIXTURES));
}

type Expectation =
  | { outcome: 'valid'; check?: (m: SipMessage, bytes: Buffer) => void }
  /**
   * A request rejected with `status` (400, 501, 505): answered, or dropped when a response to it
   * would be malformed (its Via, From, To, Call-ID or CSeq missing, repeated or malformed).
   */
  | { outcome: 'reject'; status: number; code: SipErrorCode; answerable: boolean }
  /** An invalid response: dropped, never answered. */
  | { outcome: 'drop'; code: SipErrorCode };

const valid = (check?: (m: SipMessage, bytes: Buffer) => void): Expectation => ({ outcome: 'valid', check });
const reject = (status: number, code: SipErrorCode, answerable = true): Expectation => ({
  outcome: 'reject',
  status,
  code,
  answerable,
});

const sipUri = (m: SipMessage) => {
  const uri = m.requestUri;
  if (uri.kind !== 'sip') throw new Error(`expected a sip URI, got ${uri.kind}`);
  return uri;
};

const RFC4475: Record<string, Expectation> = {
  'wsinv.sip': valid((m) => {
    expect(m.method).toBe('INVITE');
    expect(m.maxForwards).toBe(68);
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.vias.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.to.tag).toBe('1918181833n');
    expect(m.from.tag).toBe('98asjd8');
    expect(m.from.displayText).toBe('J Rosenberg \\"');
    const contact = m.contacts[0];
    if (contact === '*' || contact === undefined) throw new Error('expected a contact');
    expect(contact.displayText).toBe('Quoted string ""');
    expect(contact.params.get('newparam')).toBe('newvalue');
    expect(contact.params.get('secondparam')).toBeNull();
    expect(contact.params.get('q')).toBe('0.33');
    expect(m.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(m.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.get('Subject')).toBe('');
    expect(m.routes[0]?.uri.toString()).toBe('sip:services.example.com;lr;unknownwith=value;unknown-no-value');
    expect(m.body.length).toBe(150);
  }),
  'intmeth.sip': valid((m) => {
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.cseq.method).toBe(m.method);
    const uri = sipUri(m);
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri.host).toBe('example.com');
    expect(m.topVia?.branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(m.to.displayText).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(decodeUtf8(m.from.params.text("fromParam''~+*_!.-%") ?? '')).toBe('работающий');
    expect(m.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
  }),
  'esc01.sip': valid((m) => {
    expect(unescape(sipUri(m).user ?? '')).toBe('sips:user@example.com');
    const to = m.to.uri;
    expect(to.kind === 'sip' && unescape(to.user ?? '')).toBe('user');
    const contact = m.contacts[0];
    if (contact === '*' || contact === undefined || contact.uri.kind !== 'sip') throw new Error('expected sip contact');
    // Unescaped once, never recursively (RFC 4475 §3.1.1.3).
    expect(unescape(contact.uri.params.get('n%61me') ?? '')).toBe('value%41');
  }),
  'escnull.sip': valid((m) => {
    const users = m.contacts.map((c) => (c !== '*' && c.uri.kind === 'sip' ? unescape(c.uri.user ?? '') : ''));
    expect(users).toEqual(['\x00', '\x00\x00']);
    const to = m.to.uri;
    expect(to.kind === 'sip' && unescape(to.user ?? '')).toBe('null-\x00-null');
  }),
  'esc02.sip': valid((m) => {
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.from.displayText).toBe('%Z%45');
    // C%6Fntact is an unknown header, not Contact.
    expect(m.contacts).toHaveLength(2);
    expect(m.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  }),
  'lwsdisp.sip': valid((m) => expect(m.from.displayName).toBe('caller')),
  'longreq.sip': valid((m) => {
    expect(m.vias.length).toBeGreaterThan(30);
    expect(m.to.uri.kind === 'sip' && m.to.uri.port).toBe(6000);
    expect(m.body.length).toBe(m.contentLength);
  }),
  'dblreq.sip': valid((m, bytes) => {
    expect(m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
    // The trailing INVITE bytes are not part of the message (§18.3).
    expect(m.toBuffer().length).toBeLessThan(bytes.length);
    expect(m.toBuffer().toString('latin1')).not.toContain('INVITE');
  }),
  'semiuri.sip': valid((m) => {
    expect(sipUri(m).user).toBe('user;par=u%40example.net');
    expect(sipUri(m).host).toBe('example.com');
    expect(m.values('Accept')).toHaveLength(6);
  }),
  'transports.sip': valid((m) =>
    expect(m.vias.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']),
  ),
  'mpart01.sip': valid((m) => {
    expect(m.body.length).toBe(553);
    expect(m.body.includes(0)).toBe(true);
  }),
  'unreason.sip': valid((m) => {
    expect(m.status).toBe(200);
    expect(decodeUtf8(m.reason)).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
  }),
  'noreason.sip': valid((m) => {
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
  }),
  'badinv01.sip': reject(400, 'bad-header-value', false),
  'clerr.sip': reject(400, 'truncated-body'),
  'ncl.sip': reject(400, 'bad-content-length'),
  'scalar02.sip': reject(400, 'bad-header-value', false),
  'scalarlg.sip': { outcome: 'drop', code: 'bad-header-value' },
  'quotbal.sip': reject(400, 'bad-header-value', false),
  'ltgtruri.sip': reject(400, 'bad-request-uri'),
  'lwsruri.sip': reject(400, 'bad-start-line'),
  'lwsstart.sip': reject(400, 'bad-start-line'),
  'trws.sip': reject(400, 'bad-start-line'),
  'escruri.sip': reject(400, 'bad-request-uri'),
  'baddate.sip': valid((m) => expect(m.get('Date')).toContain('EST')),
  'regbadct.sip': reject(400, 'bad-header-value'),
  'badaspec.sip': reject(400, 'bad-header-value', false),
  'baddn.sip': reject(400, 'unterminated-header-section', false),
  'badvers.sip': reject(505, 'bad-version'),
  'mismatch01.sip': reject(400, 'cseq-method-mismatch'),
  'mismatch02.sip': reject(501, 'cseq-method-mismatch'),
  'bigcode.sip': { outcome: 'drop', code: 'bad-status-code' },
  'badbranch.sip': valid((m) => {
    expect(m.topVia?.branch).toBe('z9hG4bK');
  }),
  'insuf.sip': reject(400, 'missing-header', false),
  'unkscm.sip': valid((m) => expect(m.requestUri.kind).toBe('absolute')),
  'novelsc.sip': valid((m) => {
    expect(m.requestUri.kind).toBe('absolute');
    expect(m.requestUri.toString()).toBe('soap.beep://192.0.2.103:3002');
  }),
  'unksm2.sip': valid((m) => {
    expect(m.to.uri.kind).toBe('absolute');
    expect(m.from.uri.toString()).toBe('http://www.example.com');
    expect(m.contacts).toHaveLength(1);
  }),
  'bext01.sip': valid((m) => {
    expect(m.require).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
    expect(m.proxyRequire).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  }),
  'invut.sip': valid((m) => expect(m.get('Content-Type')).toBe('application/unknownformat')),
  'regaut01.sip': valid((m) => expect(m.authorizations[0]?.scheme).toBe('NoOneKnowsThisScheme')),
  'multi01.sip': reject(400, 'duplicate-header', false),
  'mcl01.sip': reject(400, 'duplicate-header'),
  'bcast.sip': valid((m) => {
    expect(m.status).toBe(200);
    expect(m.vias[1]?.host).toBe('255.255.255.255');
  }),
  'zeromf.sip': valid((m) => expect(m.maxForwards).toBe(0)),
  'cparam01.sip': valid((m) => {
    const c = m.contacts[0];
    if (c === '*' || c === undefined) throw new Error('expected contact');
    expect(c.uri.toString()).toBe('sip:+19725552222@gw1.example.net');
    expect(c.params.has('unknownparam')).toBe(true);
  }),
  'cparam02.sip': valid((m) => {
    const c = m.contacts[0];
    if (c === '*' || c === undefined || c.uri.kind !== 'sip') throw new Error('expected sip contact');
    expect(c.uri.params.has('unknownparam')).toBe(true);
    expect(c.params.size).toBe(0);
  }),
  'regescrt.sip': valid((m) => {
    const c = m.contacts[0];
    if (c === '*' || c === undefined || c.uri.kind !== 'sip') throw new Error('expected sip contact');
    expect(c.uri.headers).toEqual([{ name: 'Route', value: '%3Csip:sip.example.com%3E' }]);
  }),
  'sdp01.sip': valid((m) => expect(m.get('Accept')).toBe('text/nobodyKnowsThis')),
  'inv2543.sip': valid((m, bytes) => {
    expect(m.topVia?.branch).toBeUndefined();
    expect(m.from.tag).toBeUndefined();
    expect(m.contentLength).toBeUndefined();
    expect(m.maxForwards).toBeUndefined();
    // Without Content-Length the body is the rest of the datagram (§18.3).
    expect(m.body.length).toBeGreaterThan(0);
    expect(m.toBuffer().equals(bytes)).toBe(true);
  }),
  // No SIP-Version and no Via: a 400 has nowhere to go, so it is dropped.
  'test.sip': reject(400, 'bad-start-line', false),
};

const RFC5118: Record<string, Expectation> = {
  'ipv6-good.sip': valid((m) => {
    expect(sipUri(m).host).toBe('[2001:db8::10]');
    expect(sipUri(m).hostType).toBe('ipv6');
  }),
  'ipv6-bad.sip': reject(400, 'bad-request-uri'),
  'port-ambiguous.sip': valid((m) => {
    expect(sipUri(m).host).toBe('[2001:db8::10:5070]');
    expect(sipUri(m).port).toBeNull();
  }),
  'port-unambiguous.sip': valid((m) => {
    expect(sipUri(m).hostname).toBe('2001:db8::10');
    expect(sipUri(m).port).toBe(5070);
  }),
  'via-received-param-with-delim.sip': valid((m) => expect(m.topVia?.received).toBe('[2001:db8::9:255]')),
  'via-received-param-no-delim.sip': valid((m) => expect(m.topVia?.received).toBe('2001:db8::9:255')),
  'ipv6-in-sdp.sip': valid((m) => expect(m.body.toString()).toContain('IN IP6 2001:db8::20')),
  'mult-ip-in-header.sip': valid((m) => {
    expect(m.vias.map((v) => v.sentBy)).toEqual(['[2001:db8::9:1]:6050', '192.0.2.1', '[2001:db8::9:255]']);
    expect(m.vias[2]?.received).toBe('192.0.2.200');
  }),
  'mult-ip-in-sdp.sip': valid((m) => expect(m.body.length).toBe(m.contentLength)),
  'ipv4-mapped-ipv6.sip': valid((m) => expect(m.topVia?.sentBy).toBe('[::ffff:192.0.2.10]:19823')),
  'ipv6-bug-abnf-3-colons.sip': valid((m) => expect(sipUri(m).host).toBe('[2001:db8:::192.0.2.1]')),
  'ipv6-correct-abnf-2-colons.sip': valid((m) => expect(sipUri(m).host).toBe('[2001:db8::192.0.2.1]')),
};

function runSet(set: string, table: Record<string, Expectation>, expectedCount: number): void {
  describe(`${set} torture messages`, () => {
    const files = readdirSync(new URL(`${set}/`, FIXTURES)).filter((f) => f.endsWith('.sip'));

    it(`has an expectation for each of the ${expectedCount} fixtures and the fixtures are intact`, () => {
      expect(files.sort()).toEqual(Object.keys(table).sort());
      expect(files).toHaveLength(expectedCount);
      const sums = readFileSync(new URL(`${set}/SHA256SUMS`, FIXTURES), 'latin1');
      for (const file of files) {
        const digest = createHash('sha256').update(fixture(set, file)).digest('hex');
        expect(sums, file).toContain(`${digest}  ${file}`);
      }
    });

    for (const [file, expectation] of Object.entries(table)) {
      it(`${file}: ${expectation.outcome}`, () => {
        const bytes = fixture(set, file);
        if (expectation.outcome === 'valid') {
          const message = parseMessage(bytes);
          if (file !== 'dblreq.sip') expect(message.toBuffer().equals(bytes)).toBe(true);
          expectation.check?.(message, bytes);
          return;
        }
        const error = parseErrorOf(() => parseMessage(bytes));
        expect(error.code).toBe(expectation.code);
        if (expectation.outcome === 'reject') {
          expect(error.status).toBe(expectation.status);
          expect(error.answerable).toBe(expectation.answerable);
        } else {
          expect(error.status).toBeUndefined();
          expect(error.answerable).toBe(false);
        }
      });
    }
  });
}

runSet('rfc4475', RFC4475, 50);
runSet('rfc5118', RFC5118, 12);

describe('baddn variant (header section terminated)', () => {
  it('is rejected with 400 for the unquoted display name containing a comma', () => {
    const error = parseErrorOf(() => parseMessage(fixture('rfc4475', 'variants/baddn.crlf-terminated.sip')));
    expect(error.status).toBe(400);
    expect(error.header).toBe('From');
  });
});
