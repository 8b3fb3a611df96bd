/** Messages a worker works on at once; the rest wait in arrival order (`AdmissionQueue`). */
export const DEFAULT_CONCURRENCY = 128;
/** Messages that may wait at most; beyond, a new one is refused at once. */
export const DEFAULT_MAX_WAITING = 20_000;

/**
 * A worker's intake: at most `concurrency` messages are worked on at once, the others wait in
 * arrival order. Without it every message a worker takes starts at once and they all share the
 * process: above capacity each one's work is spread over thousands of others', every call slows
 * down together, and how long a message waited is hidden inside its own handling. With it the wait
 * is in this queue, before the handling starts, where overload control can see it
 * (`Worker.shed`: a new call that waited too long is refused before it costs anything).
 */
export class AdmissionQueue {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency = DEFAULT_CONCURRENCY,
    private readonly maxWaiting = DEFAULT_MAX_WAITING,
  ) {}

  /** Messages waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once a place is free; `refused` instead, at once, when `maxWaiting` messages
   * already wait.
   */
  async run<T>(task: () => Promise<T>, refused: () => T): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxWaiting) return refused();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The place goes straight to the next one waiting; without one it is freed.
      if (next === undefined) this.#running--;
      else next();
    }
  }
}
