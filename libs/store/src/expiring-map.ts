/** One entry and its place in the expiry heap. */
interface Entry<T> {
  readonly key: string;
  value: T;
  expiresAt: number;
  /** Index in `heap`. */
  slot: number;
}

/** Expired entries removed per operation at most, so that no single call pays for a mass expiry. */
const SWEEP_BATCH = 100;

/**
 * A Map whose entries expire like Redis keys with PX/PEXPIREAT. An expired entry is never
 * returned, and it is forgotten even when nobody asks for it again, as Redis's active expiry does:
 * every operation first removes up to {@link SWEEP_BATCH} expired entries, found through a min-heap
 * of expiry times that holds every entry exactly once (O(log n) per change, no scan). Each
 * operation adds at most one entry and removes up to a batch, so the expired entries still held
 * never outnumber the live ones for long; with no operations at all nothing is added either.
 */
export class ExpiringMap<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Every entry, ordered as a binary min-heap on `expiresAt`. */
  private readonly heap: Entry<T>[] = [];

  /** `clock` gives the time in epoch ms (tests pass their own). */
  constructor(private readonly clock: () => number = Date.now) {}

  /** Entries held: the live ones and those expired but not yet swept. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): T | undefined {
    const now = this.sweep();
    const entry = this.entries.get(key);
    return entry === undefined || entry.expiresAt <= now ? undefined : entry.value;
  }

  set(key: string, value: T, expiresAt: number): void {
    this.sweep();
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const added: Entry<T> = { key, value, expiresAt, slot: this.heap.length };
      this.entries.set(key, added);
      this.heap.push(added);
      this.siftUp(added.slot);
      return;
    }
    entry.value = value;
    entry.expiresAt = expiresAt;
    this.siftDown(this.siftUp(entry.slot));
  }

  /** Replaces the value of a live entry and keeps its expiry (Redis KEEPTTL). */
  replace(key: string, value: T): void {
    const now = this.sweep();
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) entry.value = value;
  }

  /** The live entries, in no particular order. */
  *live(): IterableIterator<[string, T]> {
    const now = this.sweep();
    for (const [key, entry] of this.entries) if (entry.expiresAt > now) yield [key, entry.value];
  }

  delete(key: string): void {
    this.sweep();
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }

  clear(): void {
    this.entries.clear();
    this.heap.length = 0;
  }

  /** Removes up to a batch of expired entries, soonest expired first; returns the time it used. */
  private sweep(): number {
    const now = this.clock();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const soonest = this.heap[0];
      if (soonest === undefined || soonest.expiresAt > now) break;
      this.remove(soonest);
    }
    return now;
  }

  private remove(entry: Entry<T>): void {
    this.entries.delete(entry.key);
    const last = this.heap.pop()!;
    if (last === entry) return;
    this.place(last, entry.slot);
    this.siftDown(this.siftUp(last.slot));
  }

  /** Moves the entry at `slot` towards the root while it expires before its parent; returns where it ends. */
  private siftUp(slot: number): number {
    const entry = this.heap[slot]!;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      const above = this.heap[parent]!;
      if (above.expiresAt <= entry.expiresAt) break;
      this.place(above, slot);
      slot = parent;
    }
    this.place(entry, slot);
    return slot;
  }

  /** Moves the entry at `slot` towards the leaves while a child expires before it. */
  private siftDown(slot: number): void {
    const entry = this.heap[slot]!;
    const size = this.heap.length;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && this.heap[right]!.expiresAt < this.heap[left]!.expiresAt ? right : left;
      const below = this.heap[child]!;
      if (below.expiresAt >= entry.expiresAt) break;
      this.place(below, slot);
      slot = child;
    }
    this.place(entry, slot);
  }

  private place(entry: Entry<T>, slot: number): void {
    this.heap[slot] = entry;
    entry.slot = slot;
  }
}
