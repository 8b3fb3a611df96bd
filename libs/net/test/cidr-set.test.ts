import { describe, expect, it } from 'vitest';
import { CidrSet, parseAddress, parseRange } from '../src/index.js';

describe('CidrSet', () => {
  it('matches IPv4 and IPv6 ranges and single addresses', () => {
    const set = new CidrSet(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1'], 'trusted');
    expect(set.has('10.1.2.3')).toBe(true);
    expect(set.has('11.0.0.1')).toBe(false);
    expect(set.has('192.0.2.7')).toBe(true);
    expect(set.has('192.0.2.8')).toBe(false);
    expect(set.has('2001:db8:1::5')).toBe(true);
    expect(set.has('::1')).toBe(true);
    expect(set.has('2001:db9::1')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 ranges', () => {
    expect(new CidrSet(['10.0.0.0/8'], 'deny').has('::ffff:10.9.8.7')).toBe(true);
    expect(parseAddress('::ffff:10.9.8.7')?.toString()).toBe('10.9.8.7');
  });

  it('rejects malformed entries naming them, and answers false for non-addresses', () => {
    expect(() => new CidrSet(['10/8'], 'deny')).toThrow(/10\/8/);
    expect(() => parseRange('300.1.1.1/8', 'deny')).toThrow(RangeError);
    expect(new CidrSet(['10.0.0.0/8'], 'deny').has('not-an-ip')).toBe(false);
  });
});
