/**
 * The hand-offs waiting between the edge and a standalone worker thread, as the edge sees them at
 * once, for its overload control (@sipedge/handoff overload.ts). Above capacity the backlog builds
 * up between the threads (in the MessagePort and the worker's admission queue), where the edge's
 * UDP receive-queue probe does not see it. The edge counts each hand-off it posts to the thread and
 * remembers when; the thread counts, in shared memory, each one it starts on. Both queues keep
 * their order, so the oldest hand-off not yet taken is the one after the `taken`-th, and how long it
 * has waited is known at any moment, even while the worker thread is too busy to say anything.
 */
import { type OverloadSettings, StandingDelay, judgedDelay } from '@sipedge/handoff';

/** Hand-offs whose send time is remembered; with more waiting, the wait is that of the oldest remembered. */
const REMEMBERED = 1 << 16;

/** The shared counter of hand-offs the worker thread has taken (one BigInt64). */
export function sharedTakenCount(): SharedArrayBuffer {
  return new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
}

/** The worker thread's side: counts one hand-off taken (started on, or refused). */
export function countTaken(shared: SharedArrayBuffer): () => void {
  const taken = new BigInt64Array(shared);
  return () => {
    Atomics.add(taken, 0, 1n);
  };
}

/** The edge thread's side: the hand-offs it posted to the worker thread, and how long they wait. */
export class ThreadHandoffs {
  readonly #sentAt = new Float64Array(REMEMBERED);
  readonly #taken: BigInt64Array;
  #sent = 0;
  /** The oldest wait seen at each hand-off, standing over a window (a burst that drains sheds nothing). */
  readonly #waits = new StandingDelay();

  constructor(
    taken: SharedArrayBuffer,
    private readonly overload: OverloadSettings,
  ) {
    this.#taken = new BigInt64Array(taken);
  }

  /** One hand-off posted to the worker thread at `now`. */
  handedOff(now: number): void {
    this.#sentAt[this.#sent % REMEMBERED] = now;
    this.#sent++;
    this.#waits.observe(this.oldestWaitMs(now), now);
  }

  /** How long the oldest hand-off the worker thread has not taken yet has waited (0: none waits). */
  oldestWaitMs(now: number): number {
    const taken = Number(Atomics.load(this.#taken, 0));
    const waiting = this.#sent - taken;
    if (waiting <= 0) return 0;
    const oldest = waiting > REMEMBERED ? this.#sent - REMEMBERED : taken;
    return now - this.#sentAt[oldest % REMEMBERED]!;
  }

  /**
   * The wait the edge's overload control judges (judgedDelay): the oldest hand-off's wait now, while
   * even the least of a window stood above the limit; else 0.
   */
  backlogMs(now: number): number {
    return judgedDelay(this.oldestWaitMs(now), this.#waits.value(now), this.overload);
  }
}
