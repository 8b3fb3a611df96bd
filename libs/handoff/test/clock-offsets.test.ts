import { describe, expect, it } from 'vitest';
import { ClockOffsets } from '../src/index.js';

const LIMIT = 100;
const MINUTE = 60_000;

describe('ClockOffsets', () => {
  it('reads a constant difference of the clocks as no wait, and a queue above it as its wait', () => {
    const offsets = new ClockOffsets();
    expect(offsets.waited('e1', 300, 0, true, LIMIT)).toBe(0);
    for (let at = 10; at < 5000; at += 10)
      expect(offsets.waited('e1', 300 + (at % 20), at, true, LIMIT)).toBeLessThan(20);
    expect(offsets.waited('e1', 300 + 250, 5000, false, LIMIT)).toBe(250);
    // Each edge has its own clock.
    expect(offsets.waited('e2', -40, 5000, true, LIMIT)).toBe(0);
    expect(offsets.waited('e2', 210, 5010, false, LIMIT)).toBe(250);
  });

  it('lowers the base at once on a lower wait, saturated or not, and never below it reads less than 0', () => {
    const offsets = new ClockOffsets();
    offsets.waited('e1', 400, 0, true, LIMIT);
    expect(offsets.waited('e1', 300, 10, false, LIMIT)).toBe(0);
    expect(offsets.waited('e1', 450, 20, false, LIMIT)).toBe(150);
  });

  it('takes nothing from a long overload into the base: the queue shows after twenty minutes of it', () => {
    const offsets = new ClockOffsets();
    offsets.waited('e1', 5, 0, true, LIMIT);
    // Saturated: waits of 150–250 ms above the base for twenty minutes.
    for (let at = 0; at < 20 * MINUTE; at += 1000) offsets.waited('e1', 155 + (at % 100), at, false, LIMIT);
    expect(offsets.waited('e1', 255, 20 * MINUTE, false, LIMIT)).toBe(250);
    // Not saturated but waits more than half the limit above the base: no clock difference either.
    for (let at = 20 * MINUTE; at < 40 * MINUTE; at += 1000) offsets.waited('e1', 65, at, true, LIMIT);
    expect(offsets.waited('e1', 65, 40 * MINUTE, true, LIMIT)).toBe(60);
  });

  it('follows a clock that drifts, over the last ten minutes of waits near the base', () => {
    const offsets = new ClockOffsets();
    offsets.waited('e1', 0, 0, true, LIMIT);
    // The worker's clock gains 3 ms a minute on the edge's (50 ppm) for an hour.
    let last = 0;
    for (let at = 0; at <= 60 * MINUTE; at += 1000) last = offsets.waited('e1', (3 * at) / MINUTE, at, true, LIMIT);
    expect(last).toBeLessThanOrEqual(31);
    expect(last).toBeGreaterThanOrEqual(27);
  });
});
