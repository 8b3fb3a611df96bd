import { describe, expect, it } from 'vitest';
import { familyOf, formatEndpoint, newFlowId, normalizeAddress, parseEndpoint } from '../src/transports/index.js';

describe('transport endpoints', () => {
  it('parses and formats IPv4 and bracketed IPv6 endpoints', () => {
    expect(parseEndpoint('0.0.0.0:5060')).toEqual({ address: '0.0.0.0', port: 5060 });
    expect(parseEndpoint('[::]:5060')).toEqual({ address: '::', port: 5060 });
    expect(parseEndpoint(' [2001:db8::1]:0 ')).toEqual({ address: '2001:db8::1', port: 0 });
    expect(formatEndpoint({ address: '2001:db8::1', port: 5061 })).toBe('[2001:db8::1]:5061');
    expect(formatEndpoint({ address: '192.0.2.1', port: 5060 })).toBe('192.0.2.1:5060');
  });

  it('refuses what is not an IP endpoint', () => {
    for (const text of ['::1:5060', 'localhost:5060', '[localhost]:5060', '1.2.3.4', '1.2.3.4:70000', '[::1]']) {
      expect(() => parseEndpoint(text), text).toThrow(RangeError);
    }
  });

  it('normalizes IPv4-mapped IPv6 addresses and tells families apart', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(familyOf('192.0.2.1')).toBe(4);
    expect(familyOf('::1')).toBe(6);
    expect(familyOf('example.com')).toBeUndefined();
  });

  it('makes distinct flow ids of the form f-<edgeId>-<counter>-<random>', () => {
    const ids = Array.from({ length: 100 }, () => newFlowId('edge-7'));
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^f-edge-7-\d+-[0-9a-f]{8}$/);
  });
});
