import { describe, expect, it } from 'vitest';
import { parseMessage } from '../src/index.js';
import { INVITE_HEAD, inviteWire, wire, withVias } from './helpers.js';

const bytes = inviteWire(
  'Route: <sip:edge.example.com;lr>, <sip:p2.example.com;lr>',
  'Record-Route: <sip:p0.example.com;lr>',
);

describe('SipMessage changes (lossless forwarding)', () => {
  it('returns the exact input bytes when nothing changed', () => {
    const m = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), bytes]));
    expect(m.toBuffer().equals(bytes)).toBe(true);
  });

  it('re-renders only the changed row: received/rport on the top Via (§18.2.1, RFC 3581)', () => {
    const m = parseMessage(bytes);
    const via = m.topVia!;
    m.replaceFirst('Via', via.withParam('received', '192.0.2.101').withParam('rport', '40000').toString());
    const out = m.toBuffer().toString('latin1');
    expect(out).toContain(
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.101;rport=40000\r\n',
    );
    expect(out.replace(/Via: [^\r]*\r\n/, '')).toBe(bytes.toString('latin1').replace(/Via: [^\r]*\r\n/, ''));
    expect(m.topVia?.received).toBe('192.0.2.101');
    expect(m.topVia?.rport).toBe(40000);
  });

  it('prepends a Via and a Record-Route above the existing ones (§16.6 steps 4, 8)', () => {
    const m = parseMessage(bytes);
    m.prepend('Via', 'SIP/2.0/UDP edge.example.com;branch=z9hG4bKe1');
    m.prepend('Record-Route', '<sip:edge.example.com;lr>');
    const out = parseMessage(m.toBuffer());
    expect(out.vias.map((v) => v.branch)).toEqual(['z9hG4bKe1', 'z9hG4bK776asdhds']);
    expect(out.recordRoutes.map((r) => r.uri.toString())).toEqual(['sip:edge.example.com;lr', 'sip:p0.example.com;lr']);
  });

  it('removes the top Via of a response and the whole row when it held one value (§16.7 step 3)', () => {
    const res = parseMessage(
      withVias('SIP/2.0 200 OK', ['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/UDP b;branch=z9hG4bK2'], '314159 INVITE'),
    );
    res.removeFirst('Via');
    expect(res.toBuffer().toString('latin1')).not.toContain('branch=z9hG4bK1');
    expect(parseMessage(res.toBuffer()).vias.map((v) => v.branch)).toEqual(['z9hG4bK2']);
  });

  it('removes rows of a header by position; every other row keeps its bytes, folding included (§22.3)', () => {
    const rows = [
      'Proxy-Authorization: Digest realm="a", username="x",\r\n  nonce="1"',
      'Proxy-Authorization: Digest realm="ours", username="y", nonce="2"',
      'Proxy-Authorization:   Digest realm="b",username="z", nonce="3"',
    ];
    const source = wire([...INVITE_HEAD, ...rows, 'Content-Length: 0']);
    const m = parseMessage(source);
    m.removeRows('proxy-authorization', [1]);
    expect(m.toBuffer().toString('latin1')).toBe(source.toString('latin1').replace(`${rows[1]}\r\n`, ''));
    m.removeRows('Proxy-Authorization', [5]);
    expect(m.values('Proxy-Authorization')).toHaveLength(2);
    m.removeRows('Proxy-Authorization', [0, 1]);
    expect(m.has('Proxy-Authorization')).toBe(false);
  });

  it('keeps clones independent (one copy per fork)', () => {
    const m = parseMessage(bytes);
    const a = m.clone();
    const b = m.clone();
    a.setRequestUri('sip:bob@192.0.2.10');
    b.setRequestUri('sip:bob@192.0.2.11');
    a.set('Max-Forwards', '69');
    expect(parseMessage(a.toBuffer()).requestUriText).toBe('sip:bob@192.0.2.10');
    expect(parseMessage(b.toBuffer()).requestUriText).toBe('sip:bob@192.0.2.11');
    expect(parseMessage(b.toBuffer()).maxForwards).toBe(70);
    expect(m.toBuffer().equals(bytes)).toBe(true);
  });

  it('drops a typed value from its cache when its rows change', () => {
    const m = parseMessage(bytes);
    expect(m.maxForwards).toBe(70);
    m.set('Max-Forwards', '12');
    expect(m.maxForwards).toBe(12);
    m.remove('Max-Forwards');
    expect(m.maxForwards).toBeUndefined();
  });

  it('reports a malformed header value as a SipParseError naming the header, read lazily', () => {
    const m = parseMessage(wire([...INVITE_HEAD, 'Content-Length: 0']));
    m.set('Route', '<sip:broken');
    expect(() => m.routes).toThrow(/Bad Route/);
  });
});
