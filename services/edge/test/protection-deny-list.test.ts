import { describe, expect, it } from 'vitest';
import { CidrSet, parseRange } from '@sipedge/net';
import { DenyList } from '../src/protection/deny-list.js';

/** Checks that `list` denies each of `denied` and none of `allowed`. */
function expectVerdicts(list: DenyList, { denied, allowed }: { denied: string[]; allowed: string[] }): void {
  for (const address of denied) expect(list.denies(address), address).toBe(true);
  for (const address of allowed) expect(list.denies(address), address).toBe(false);
}

describe('DenyList', () => {
  it('matches IPv4 CIDR ranges', () => {
    const list = new DenyList(['10.0.0.0/8', '192.168.1.0/24']);
    expectVerdicts(list, {
      denied: ['10.0.0.1', '10.255.255.255', '192.168.1.77'],
      allowed: ['192.168.2.1', '11.0.0.1'],
    });
    expect(list.size).toBe(2);
  });

  it('matches IPv6 CIDR ranges in any notation', () => {
    const list = new DenyList(['2001:db8::/32']);
    expectVerdicts(list, {
      denied: ['2001:db8::1', '2001:0db8:ffff:0000:0000:0000:0000:0001'],
      allowed: ['2001:db9::1', 'fe80::1%eth0'],
    });
  });

  it('takes single addresses as /32 and /128', () => {
    const list = new DenyList(['203.0.113.7', '2001:db8::7']);
    expectVerdicts(list, { denied: ['203.0.113.7', '2001:db8::7'], allowed: ['203.0.113.8', '2001:db8::8'] });
  });

  it('matches IPv4-mapped IPv6 sources against IPv4 ranges', () => {
    const list = new DenyList(['10.0.0.0/8']);
    expectVerdicts(list, { denied: ['::ffff:10.1.2.3', '::ffff:a01:203'], allowed: ['::ffff:11.1.2.3'] });
  });

  it('takes an IPv4-mapped IPv6 range as the IPv4 range it covers', () => {
    const list = new DenyList(['::ffff:10.0.0.0/104']);
    expectVerdicts(list, { denied: ['10.9.9.9', '::ffff:10.9.9.9'], allowed: ['11.0.0.0'] });
  });

  it('keeps the families apart', () => {
    const list = new DenyList(['0.0.0.0/0']);
    expectVerdicts(list, { denied: ['1.2.3.4'], allowed: ['2001:db8::1'] });
    const v6 = new DenyList(['::/0']);
    expectVerdicts(v6, { denied: ['2001:db8::1'], allowed: ['1.2.3.4'] });
  });

  it('ignores host bits after the prefix and surrounding spaces', () => {
    const list = new DenyList([' 10.1.2.3/8 ']);
    expect(list.denies('10.200.0.1')).toBe(true);
  });

  it('denies nothing when empty, and nothing that is not an address', () => {
    expect(new DenyList([]).denies('10.0.0.1')).toBe(false);
    const list = new DenyList(['0.0.0.0/0', '::/0']);
    expectVerdicts(list, { denied: [], allowed: ['not-an-address', ''] });
  });

  it.each([
    'not-a-cidr',
    '',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10/8',
    '10.1',
    '0x0a.0.0.0/8',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '10.0.0.0/',
    '10.0.0.0/+8',
    '256.0.0.0/8',
    'fe80::1%eth0',
    '2001:db8::/3 2',
  ])('rejects the invalid entry %j with a RangeError naming it', (entry) => {
    expect(() => new DenyList(['10.0.0.0/8', entry])).toThrow(RangeError);
    expect(() => new DenyList([entry])).toThrow(`"${entry}"`);
  });
});

describe('parseRange and CidrSet', () => {
  it('normalises ranges', () => {
    const [v4, v4Prefix] = parseRange('10.0.0.0/8', 'test');
    expect([v4.kind(), v4.toString(), v4Prefix]).toEqual(['ipv4', '10.0.0.0', 8]);
    const [v6, v6Prefix] = parseRange('2001:db8::', 'test');
    expect([v6.kind(), v6.toString(), v6Prefix]).toEqual(['ipv6', '2001:db8::', 128]);
  });

  it('names the list in errors', () => {
    expect(() => new CidrSet(['nope'], 'trusted')).toThrow('trusted: invalid entry "nope"');
  });
});
