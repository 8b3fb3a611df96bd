import { describe, expect, it } from 'vitest';
import { shouldShed } from '../src/index.js';

const settings = { maxDelayMs: 100, retryAfterSeconds: 2 };

/** The share of `draws` evenly spread draws that shed at `delayMs`. */
function shedShare(delayMs: number, draws = 1000): number {
  let shed = 0;
  for (let i = 0; i < draws; i++) if (shouldShed(delayMs, settings, () => i / draws)) shed++;
  return shed / draws;
}

describe('shouldShed', () => {
  it('sheds nothing at or below the limit', () => {
    expect(shedShare(0)).toBe(0);
    expect(shedShare(100)).toBe(0);
  });

  it('sheds in proportion to the excess above the limit, everything from twice the limit', () => {
    expect(shedShare(125)).toBeCloseTo(0.25, 2);
    expect(shedShare(150)).toBeCloseTo(0.5, 2);
    expect(shedShare(200)).toBe(1);
    expect(shedShare(5000)).toBe(1);
  });

  it('never sheds when overload control is off (limit 0)', () => {
    expect(shouldShed(10_000, { maxDelayMs: 0, retryAfterSeconds: 2 }, () => 0)).toBe(false);
  });
});
