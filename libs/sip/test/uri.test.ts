import { describe, expect, it } from 'vitest';
import { SipSyntaxError, parseUri, uriEquals } from '../src/index.js';

describe('URI parsing (§19.1.1, RFC 3966, RFC 5118)', () => {
  it('reads every part of a sip URI', () => {
    const uri = parseUri(
      'sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent',
    );
    if (uri.kind !== 'sip') throw new Error('expected sip');
    expect(uri).toMatchObject({
      scheme: 'sips',
      user: 'alice',
      password: 'secret',
      host: 'atlanta.example.com',
      port: 5061,
    });
    expect(uri.secure).toBe(true);
    expect(uri.transport).toBe('tcp');
    expect(uri.lr).toBe(true);
    expect(uri.headers).toEqual([
      { name: 'subject', value: 'project%20x' },
      { name: 'priority', value: 'urgent' },
    ]);
    expect(uri.toString()).toBe(
      'sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent',
    );
  });

  it('reads IPv4, IPv6 and host names', () => {
    const v4 = parseUri('sip:192.0.2.4');
    const v6 = parseUri('sip:bob@[2001:db8::1]:5070;maddr=[2001:db8::2]');
    expect(v4.kind === 'sip' && v4.hostType).toBe('ipv4');
    if (v6.kind !== 'sip') throw new Error('expected sip');
    expect(v6.hostType).toBe('ipv6');
    expect(v6.hostname).toBe('2001:db8::1');
    expect(v6.port).toBe(5070);
    expect(v6.maddr).toBe('[2001:db8::2]');
  });

  it('reads tel URIs and opaque URIs of other schemes', () => {
    const tel = parseUri('tel:+1-201-555-0123;ext=1234');
    expect(tel.kind).toBe('tel');
    expect(tel.kind === 'tel' && tel.global).toBe(true);
    expect(tel.kind === 'tel' && tel.params.get('ext')).toBe('1234');
    expect(parseUri('mailto:alice@example.com').kind).toBe('absolute');
  });

  it('renders a changed URI from its parts', () => {
    const uri = parseUri('sip:bob@Biloxi.example.com;transport=udp');
    if (uri.kind !== 'sip') throw new Error('expected sip');
    expect(uri.with({ params: uri.params.without('transport').with('lr', null), port: 5080 }).toString()).toBe(
      'sip:bob@Biloxi.example.com:5080;lr',
    );
  });

  it.each([
    ['sip:', 'no host'],
    ['sip:@host', 'empty user'],
    ['sip:2001:db8::10', 'unbracketed IPv6 (RFC 5118 §4.2)'],
    ['sip:host:99999', 'port out of range'],
    ['sip:host;=x', 'empty parameter name'],
    ['sip:us er@host', 'space in user'],
    ['sip:user@host?Route', 'header without ='],
    ['sip:us%zzer@host', 'bad escape'],
    ['<sip:host>', 'brackets'],
    ['sip:[2001:db8::1', 'unterminated IPv6'],
    ['nocolon', 'no scheme'],
  ])('rejects %s (%s)', (text) => {
    expect(() => parseUri(text)).toThrow(SipSyntaxError);
  });
});

describe('URI comparison (§19.1.4)', () => {
  const eq = (a: string, b: string) => uriEquals(parseUri(a), parseUri(b));

  it.each([
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    ['sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    [
      'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
    ],
    [
      'sip:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:alice@atlanta.com?priority=urgent&subject=project%20x',
    ],
    ['tel:+1-201-555-0123', 'tel:+1.201.555.0123'],
  ])('%s equals %s', (a, b) => {
    expect(eq(a, b)).toBe(true);
    expect(eq(b, a)).toBe(true);
  });

  it.each([
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
    ['sip:alice@atlanta.com', 'sips:alice@atlanta.com'],
    ['sip:alice@atlanta.com', 'sip:alice@atlanta.com;maddr=192.0.2.1'],
    ['sip:alice@atlanta.com;user=phone', 'sip:alice@atlanta.com'],
    ['sip:alice:pw@atlanta.com', 'sip:alice@atlanta.com'],
    ['sip:alice@atlanta.com', 'tel:+12015550123'],
  ])('%s differs from %s', (a, b) => {
    expect(eq(a, b)).toBe(false);
    expect(eq(b, a)).toBe(false);
  });
});
