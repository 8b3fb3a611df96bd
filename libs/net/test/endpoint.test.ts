import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint, splitEndpoint } from '../src/index.js';

describe('endpoints', () => {
  it('parses and formats IPv4, host name and bracketed IPv6 endpoints', () => {
    expect(parseEndpoint('0.0.0.0:5060')).toEqual({ address: '0.0.0.0', port: 5060 });
    expect(parseEndpoint('[::]:5060')).toEqual({ address: '::', port: 5060 });
    expect(parseEndpoint(' [2001:db8::1]:0 ')).toEqual({ address: '2001:db8::1', port: 0 });
    expect(parseEndpoint('redis.example.com:6379')).toEqual({ address: 'redis.example.com', port: 6379 });
    expect(formatEndpoint({ address: '2001:db8::1', port: 5061 })).toBe('[2001:db8::1]:5061');
    expect(formatEndpoint({ address: '192.0.2.1', port: 5060 })).toBe('192.0.2.1:5060');
    for (const text of ['192.0.2.1:5060', '[2001:db8::1]:5061', 'sip.example.com:5060']) {
      expect(formatEndpoint(parseEndpoint(text))).toBe(text);
    }
  });

  it('refuses what is not an endpoint: an unbracketed IPv6 address, no port, a port above 65535', () => {
    for (const text of ['::1:5060', '2001:db8::1:5060', '1.2.3.4', '1.2.3.4:70000', '[::1]', '']) {
      expect(splitEndpoint(text), text).toBeUndefined();
      expect(() => parseEndpoint(text), text).toThrow(RangeError);
    }
  });
});
