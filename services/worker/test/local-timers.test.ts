/**
 * The worker's local timers (local-timers.ts): one per record, replaced by the next `set`, cleared
 * by null and by `stop`, and never run before their wall-clock due time even when the timer wakes
 * early by it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalTimers } from '../src/local-timers.js';

describe('LocalTimers', () => {
  let fired: { id: string; at: number }[];
  let timers: LocalTimers;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    fired = [];
    timers = new LocalTimers((id) => fired.push({ id, at: Date.now() }));
  });
  afterEach(() => {
    timers.stop();
    vi.useRealTimers();
  });

  it('fires a record’s timer once, at its due time', () => {
    timers.set('a', 1_000_100);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([{ id: 'a', at: 1_000_100 }]);
    vi.advanceTimersByTime(1000);
    expect(fired).toHaveLength(1);
    expect(timers.size).toBe(0);
  });

  it('keeps one timer per record: a later set replaces it, null clears it', () => {
    timers.set('a', 1_000_100);
    timers.set('a', 1_000_300);
    timers.set('b', 1_000_200);
    timers.set('b', null);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([{ id: 'a', at: 1_000_300 }]);
  });

  it('waits on when it wakes before the due time by the wall clock', () => {
    timers.set('a', 1_000_100);
    // The wall clock steps back 5 ms against the timers' clock: the timer wakes 5 ms early by it.
    vi.setSystemTime(Date.now() - 5);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(5);
    expect(fired).toEqual([{ id: 'a', at: 1_000_100 }]);
  });

  it('fires nothing once stopped, and takes no new timer', () => {
    timers.set('a', 1_000_100);
    timers.stop();
    timers.set('b', 1_000_100);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
    expect(timers.size).toBe(0);
  });

  it('asks for the record its lead before the due time, then fires at the due time', () => {
    const asked: { id: string; at: number }[] = [];
    const leading = new LocalTimers(
      (id) => fired.push({ id, at: Date.now() }),
      (id) => asked.push({ id, at: Date.now() }),
      50,
    );
    leading.set('a', 1_000_200);
    // Due within the lead: no prefetch, the fire alone.
    leading.set('b', 1_000_030);
    vi.advanceTimersByTime(149);
    expect(asked).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(asked).toEqual([{ id: 'a', at: 1_000_150 }]);
    expect(fired).toEqual([{ id: 'b', at: 1_000_030 }]);
    // Set again to the same due time after the prefetch: still one fire, at its due time.
    leading.set('a', 1_000_200);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual([
      { id: 'b', at: 1_000_030 },
      { id: 'a', at: 1_000_200 },
    ]);
    expect(asked).toHaveLength(1);
    leading.stop();
  });
});
