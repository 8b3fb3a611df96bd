/**
 * The in-memory record store encodes a value given as a function only when the record is loaded,
 * and only once: a worker that keeps the object it committed never pays for its text.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../src/index.js';

describe('MemoryRecordStore', () => {
  it('encodes a lazy value at its first load, once, and never when nobody loads it', async () => {
    const records = new MemoryRecordStore();
    const encoded: string[] = [];
    const lazy = (text: string) => () => {
      encoded.push(text);
      return text;
    };
    await records.commit([{ key: '{c}:a', expectedVersion: 0, value: lazy('one'), ttlMs: 60_000 }]);
    await records.commit([{ key: '{c}:a', expectedVersion: 1, value: lazy('two'), ttlMs: 60_000 }]);
    expect(encoded).toEqual([]);
    expect(await records.load(['{c}:a'])).toEqual([{ value: 'two', version: 2 }]);
    expect(await records.load(['{c}:a'])).toEqual([{ value: 'two', version: 2 }]);
    expect(encoded).toEqual(['two']);
  });

  it('checks versions without encoding: a conflicting commit is refused and its value never asked for', async () => {
    const records = new MemoryRecordStore();
    await records.commit([{ key: '{c}:a', expectedVersion: 0, value: 'first', ttlMs: 60_000 }]);
    let asked = 0;
    const refused = await records.commit([
      {
        key: '{c}:a',
        expectedVersion: 0,
        value: () => {
          asked++;
          return 'stale';
        },
        ttlMs: 60_000,
      },
    ]);
    expect(refused).toEqual({ ok: false, conflicts: ['{c}:a'] });
    expect(asked).toBe(0);
    expect(await records.load(['{c}:a'])).toEqual([{ value: 'first', version: 1 }]);
  });
});
