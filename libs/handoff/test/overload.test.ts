import { describe, expect, it } from 'vitest';
import { StandingDelay, judgedDelay, overloadSettingsFromEnv, shouldShed } from '../src/index.js';

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

describe('StandingDelay', () => {
  it('is the least delay of the last complete window: a burst that drains is not a standing queue', () => {
    const standing = new StandingDelay(1000, 3);
    // A burst: the first of the window is taken at once, the last after 600 ms.
    for (const [delay, at] of [
      [0, 1000],
      [300, 1200],
      [600, 1400],
    ]) {
      standing.observe(delay!, at!);
    }
    expect(standing.value(1999)).toBe(0); // the window is not complete yet
    expect(standing.value(2000)).toBe(0);
    // Overload: every message of the window waited at least 400 ms.
    standing.observe(450, 2100);
    standing.observe(400, 2400);
    standing.observe(420, 2800);
    expect(standing.value(3000)).toBe(400);
    // Nothing seen for more than a window: stale, no standing queue.
    expect(standing.value(5000)).toBe(0);
  });

  it('calls a window with too few delays light traffic, however long they were', () => {
    const standing = new StandingDelay(1000, 3);
    standing.observe(5000, 1000);
    standing.observe(5000, 1500);
    expect(standing.value(2000)).toBe(0);
  });
});

describe('judgedDelay', () => {
  it('is nothing while delays do not stand above the limit, the latest delay while they do', () => {
    expect(judgedDelay(500, 80, settings)).toBe(0);
    expect(judgedDelay(500, 100, settings)).toBe(0);
    expect(judgedDelay(500, 150, settings)).toBe(500);
    expect(judgedDelay(20, 150, settings)).toBe(20);
  });
});

describe('overloadSettingsFromEnv', () => {
  it('turns overload control on at 100 ms by default (an edge faces floods), off only when asked', () => {
    expect(overloadSettingsFromEnv({})).toEqual({ maxDelayMs: 100, retryAfterSeconds: 2 });
    expect(overloadSettingsFromEnv({ SIPEDGE_OVERLOAD_MAX_DELAY_MS: '0' }).maxDelayMs).toBe(0);
    expect(
      overloadSettingsFromEnv({ SIPEDGE_OVERLOAD_MAX_DELAY_MS: '250', SIPEDGE_OVERLOAD_RETRY_AFTER: '7' }),
    ).toEqual({
      maxDelayMs: 250,
      retryAfterSeconds: 7,
    });
  });
});
