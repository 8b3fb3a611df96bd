import { parseUri, uriEquals } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { aorOf, contactKey } from '../src/index.js';

const aor = (text: string) => aorOf(parseUri(text));
const key = (text: string) => contactKey(parseUri(text));

describe('aorOf (§10.3 step 5)', () => {
  it('§19.1.4: a registered sip:Alice@dom matches INVITE sip:Alice@DOM;user=phone but not sip:alice@dom', () => {
    expect(aor('sip:Alice@dom')).toBe('sip:Alice@dom');
    expect(aor('sip:Alice@DOM;user=phone')).toBe(aor('sip:Alice@dom'));
    expect(aor('sip:alice@dom')).not.toBe(aor('sip:Alice@dom'));
  });

  it('drops URI parameters, headers and the password; lower-cases the host; keeps user case', () => {
    expect(aor('sip:Bob:secret@Biloxi.Example.COM;transport=tcp;lr?subject=hi&priority=urgent')).toBe(
      'sip:Bob@biloxi.example.com',
    );
    expect(aor('sip:example.com;maddr=10.0.0.1')).toBe('sip:example.com');
    expect(aor('sip:a@[2001:DB8::1]')).toBe('sip:a@[2001:db8::1]');
  });

  it('normalises escapes: unescapes characters that need none, keeps the others with upper-case hex', () => {
    expect(aor('sip:%41lice@dom')).toBe('sip:Alice@dom');
    expect(aor('sip:%61lice@dom')).not.toBe(aor('sip:Alice@dom'));
    expect(aor('sip:a%3ab@dom')).toBe('sip:a%3Ab@dom');
    expect(aor('sip:a%3Ab@dom')).toBe(aor('sip:a%3ab@dom'));
    expect(aor('sip:100%25@dom')).toBe('sip:100%25@dom');
    // RFC 4475 escnull: the escaped NUL stays escaped, so nothing is truncated.
    expect(aor('sip:null-%00-null@example.com')).toBe('sip:null-%00-null@example.com');
    // user-unreserved characters (";", "?", "/", "&", "=", "+", "$", ",") need no escape.
    expect(aor('sip:%2B1%3B%3F@dom')).toBe('sip:+1;?@dom');
    expect(aor('sip:%7Bx%7D@dom')).toBe('sip:%7Bx%7D@dom');
  });

  it('gives sip: and sips: the same AOR; keeps an explicit port; has none for tel: or other schemes', () => {
    expect(aor('sips:alice@dom')).toBe('sip:alice@dom');
    expect(aor('sip:alice@dom:5060')).toBe('sip:alice@dom:5060');
    expect(aor('sip:alice@dom:5060')).not.toBe(aor('sip:alice@dom'));
    expect(aor('tel:+1-201-555-0123')).toBeNull();
    expect(aor('isbn:2983792873')).toBeNull();
  });
});

describe('contactKey (§19.1.4)', () => {
  // RFC 3261 §19.1.4's examples of equal and of unequal URIs, plus a few more.
  const equal: [string, string][] = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    [
      'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
    ],
    [
      'sip:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:alice@atlanta.com?priority=urgent&subject=project%20x',
    ],
    ['sip:a:%70w@h', 'sip:a:pw@h'],
    ['sip:a@h;maddr=%31%30.0.0.1', 'sip:a@h;MADDR=10.0.0.1'],
    ['sip:a@h;user=Phone;ttl=1', 'sip:a@h;ttl=1;user=phone'],
    ['sip:a@h?Route=%3csip:x%3e', 'sip:a@h?route=%3Csip:x%3E'],
  ];
  // Each URI with the URIs that are not equal to it.
  const unequalTo: [string, string[]][] = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', ['sip:alice@AtLanTa.CoM;Transport=UDP']],
    [
      'sip:bob@biloxi.com',
      [
        'sip:bob@biloxi.com:5060',
        'sip:bob@biloxi.com;transport=udp',
        'sip:bob@biloxi.com:6000;transport=tcp',
        'sips:bob@biloxi.com',
      ],
    ],
    ['sip:carol@chicago.com', ['sip:carol@chicago.com?Subject=next%20meeting']],
    ['sip:bob@phone21.boxesbybob.com', ['sip:bob@192.0.2.4']],
    ['sip:a@h', ['sip:a:pw@h']],
    ['sip:a@h?x=A', ['sip:a@h?x=a']],
    ['sip:%00@host5.example.com', ['sip:%00%00@host5.example.com']],
  ];
  const unequal = unequalTo.flatMap(([a, others]) => others.map((b): [string, string] => [a, b]));

  it.each(equal)('%s ≡ %s', (a, b) => {
    expect(uriEquals(parseUri(a), parseUri(b))).toBe(true);
    expect(key(a)).toBe(key(b));
  });

  it.each(unequal)('%s ≢ %s', (a, b) => {
    expect(uriEquals(parseUri(a), parseUri(b))).toBe(false);
    expect(key(a)).not.toBe(key(b));
  });

  it('is canonical text: escapes normalised, host and significant parameters lower-cased, others dropped', () => {
    expect(key('sip:%61lice:%41@AtLanTa.CoM:5070;Transport=TCP;lr;foo=Bar;maddr=X?B=1&a=%7e')).toBe(
      'sip:alice:A@atlanta.com:5070;maddr=x;transport=tcp?a=~&b=1',
    );
  });

  it('documented limit: parameters outside the §19.1.4 list are ignored, conflicting values included', () => {
    expect(uriEquals(parseUri('sip:a@h;foo=1'), parseUri('sip:a@h;foo=2'))).toBe(false);
    expect(key('sip:a@h;foo=1')).toBe(key('sip:a@h;foo=2'));
  });

  it('compares tel: numbers without visual separators and other schemes as written', () => {
    expect(key('tel:+1-201-555-0123;Phone-Context=X')).toBe(key('tel:+12015550123;phone-context=x'));
    expect(key('tel:+12015550123')).not.toBe(key('tel:+12015550124'));
    expect(key('NAME:John_Smith')).toBe('name:John_Smith');
    expect(key('name:John_Smith')).not.toBe(key('name:john_smith'));
  });
});
