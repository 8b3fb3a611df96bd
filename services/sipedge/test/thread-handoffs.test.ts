/**
 * The edge's view of the hand-offs waiting for a standalone worker thread (thread-handoffs.ts):
 * the oldest one not yet taken and how long it has waited, at once; judged only while the waits
 * stand above the overload limit over a window.
 */
import { STANDING_WINDOW_MS } from '@sipedge/handoff';
import { describe, expect, it } from 'vitest';
import { ThreadHandoffs, countTaken, sharedTakenCount } from '../src/thread-handoffs.js';

const OVERLOAD = { maxDelayMs: 100, retryAfterSeconds: 2 };

function gauge() {
  const shared = sharedTakenCount();
  return { handoffs: new ThreadHandoffs(shared, OVERLOAD), take: countTaken(shared) };
}

describe('ThreadHandoffs', () => {
  it('knows how long the oldest hand-off not yet taken has waited, and that none waits once all are taken', () => {
    const { handoffs, take } = gauge();
    expect(handoffs.oldestWaitMs(1000)).toBe(0);
    handoffs.handedOff(1000);
    handoffs.handedOff(1010);
    handoffs.handedOff(1020);
    expect(handoffs.oldestWaitMs(1100)).toBe(100);
    take();
    expect(handoffs.oldestWaitMs(1100)).toBe(90);
    take();
    take();
    expect(handoffs.oldestWaitMs(1100)).toBe(0);
  });

  it('judges the oldest wait, as it is now, once the waits have stood above the limit for a window', () => {
    const { handoffs } = gauge();
    // A worker thread that takes nothing: every hand-off finds the first one still waiting.
    let now = 0;
    for (; now <= 2 * STANDING_WINDOW_MS; now += 10) handoffs.handedOff(now);
    expect(handoffs.backlogMs(now)).toBe(now);
    expect(handoffs.backlogMs(now + 50)).toBe(now + 50);
  });

  it('judges nothing while a burst drains within the window, though its oldest waits past the limit', () => {
    const { handoffs, take } = gauge();
    let now = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 50; i++) handoffs.handedOff(now);
      now += 150;
      // The burst is taken 150 ms later: its oldest waited 150 ms, past the limit, then none waits.
      expect(handoffs.oldestWaitMs(now)).toBe(150);
      for (let i = 0; i < 50; i++) take();
      handoffs.handedOff(now);
      take();
    }
    expect(handoffs.backlogMs(now)).toBe(0);
  });

  it('judges nothing at light traffic, too few hand-offs in a window to tell a queue', () => {
    const { handoffs } = gauge();
    let now = 0;
    for (let i = 0; i < 5; i++, now += STANDING_WINDOW_MS / 2) handoffs.handedOff(now);
    expect(handoffs.oldestWaitMs(now)).toBeGreaterThan(OVERLOAD.maxDelayMs);
    expect(handoffs.backlogMs(now)).toBe(0);
  });
});
