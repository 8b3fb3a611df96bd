import { describe, expect, it } from 'vitest';
import { familyOf, newFlowId, normalizeAddress } from '../src/transports/index.js';

describe('transport endpoints', () => {
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
