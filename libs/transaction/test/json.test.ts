import { describe, expect, it } from 'vitest';
import { cloneJson } from '../src/json.js';

describe('cloneJson', () => {
  const value = {
    v: 1,
    text: 'INVITE sip:a@b SIP/2.0\r\n',
    flag: true,
    none: null,
    list: [1, { nested: ['x', null] }, []],
    object: { timers: { B: { gen: 1, interval: 500, due: 32_000 } } },
  };

  it('copies every level: the copy equals the original and shares no object with it', () => {
    const copy = cloneJson(value);
    expect(copy).toEqual(value);
    copy.object.timers.B.due = 1;
    (copy.list[1] as { nested: unknown[] }).nested.push('y');
    expect(value.object.timers.B.due).toBe(32_000);
    expect((value.list[1] as { nested: unknown[] }).nested).toEqual(['x', null]);
  });

  it('gives what a JSON round trip gives: undefined members left out', () => {
    const withUndefined = { kept: 1, gone: undefined, inner: { gone: undefined, kept: 'a' } };
    const copy = cloneJson(withUndefined);
    expect(copy).toStrictEqual(JSON.parse(JSON.stringify(withUndefined)));
    expect('gone' in copy).toBe(false);
  });

  it('returns primitives as they are', () => {
    for (const primitive of [0, 'text', false, null]) expect(cloneJson(primitive)).toBe(primitive);
  });
});
