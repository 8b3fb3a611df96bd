import { describe, expect, it } from 'vitest';
import { assertOneSlot, hashTag, storeKeys } from '../src/keys.js';

describe('hash tags (Redis Cluster key distribution)', () => {
  it('takes the part between the first { and the next }', () => {
    expect(hashTag('tx:{abc}:branch')).toBe('abc');
    expect(hashTag('{user1000}.following')).toBe('user1000');
    expect(hashTag('foo{}{bar}')).toBe('foo{}{bar}');
    expect(hashTag('foo{{bar}}zap')).toBe('{bar');
    expect(hashTag('plain')).toBe('plain');
  });

  it('accepts keys of one slot and rejects a mix', () => {
    expect(() => assertOneSlot(['a:{x}:1', 'b:{x}:2'])).not.toThrow();
    expect(() => assertOneSlot(['a:{x}:1', 'b:{y}:2'])).toThrow(TypeError);
    expect(() => assertOneSlot([])).toThrow(TypeError);
  });

  it('puts the ban list in one slot and each request window in its own', () => {
    expect(() => assertOneSlot([storeKeys.bansUntil(), storeKeys.bansInfo(), storeKeys.bansVersion()])).not.toThrow();
    expect(hashTag(storeKeys.requests(57_600_123))).toBe('57600123');
    expect(hashTag(storeKeys.authFailures('src:192.0.2.7'))).toBe('src:192.0.2.7');
  });
});
