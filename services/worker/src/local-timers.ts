/**
 * One local timer per call record in this worker (deadlines.ts): at its next retransmission or its
 * deadline's due time it runs the record's due timers. Nothing durable depends on it: a timer lost
 * with the process is covered by the record's deadline job (call-store.ts). `leadMs` before the
 * due time it asks for the record (`prefetch`), so that the fire finds it at hand.
 */
export class LocalTimers {
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #stopped = false;

  constructor(
    private readonly fire: (id: string) => void,
    private readonly prefetch?: (id: string) => void,
    private readonly leadMs = 0,
  ) {}

  /** Sets the record's timer to wake at `at` (epoch ms), replacing the one it had; null clears it. */
  set(id: string, at: number | null): void {
    const current = this.#timers.get(id);
    if (current !== undefined && current.at === at) return;
    if (current !== undefined) clearTimeout(current.timer);
    if (at === null || this.#stopped) {
      this.#timers.delete(id);
      return;
    }
    const lead = this.prefetch !== undefined && at - Date.now() > this.leadMs ? this.leadMs : 0;
    this.#arm(id, at, lead);
  }

  /** Clears every timer; later `set`s are ignored. */
  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  get size(): number {
    return this.#timers.size;
  }

  /** Arms the record's timer for `at - lead`: the prefetch when `lead` > 0, else the fire. */
  #arm(id: string, at: number, lead: number): void {
    const timer = setTimeout(
      () => {
        // Timers run on the monotonic clock and due times are wall-clock: one that wakes early waits on.
        if (Date.now() < at - lead) {
          this.#arm(id, at, lead);
          return;
        }
        if (lead > 0) {
          this.prefetch?.(id);
          this.#arm(id, at, 0);
          return;
        }
        this.#timers.delete(id);
        this.fire(id);
      },
      Math.max(0, at - lead - Date.now()),
    );
    timer.unref();
    this.#timers.set(id, { at, timer });
  }
}
