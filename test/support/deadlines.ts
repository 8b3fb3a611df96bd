import type { TimerService } from '@sipedge/timers';

/**
 * Deadlines added at a delay from now, with the due time each key was first added for (the first
 * add wins, as BullMQ's does), to compare a fire's time against.
 */
export function dueTracker() {
  const due = new Map<string, number>();
  /** Adds deadline (key, 1) due in `delayMs`, noting its due time once it is added. */
  async function addIn(timers: TimerService, key: string, delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    await timers.add(key, 1, at);
    if (!due.has(key)) due.set(key, at);
  }
  return { due, addIn };
}
