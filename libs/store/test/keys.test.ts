import { describe, expect, it } from 'vitest';
import { assertOneSlot, hashTag } from '../src/index.js';

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
});
