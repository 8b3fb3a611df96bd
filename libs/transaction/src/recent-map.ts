/**
 * A bounded map of what was used lately, for the memos of the message path (the states a worker
 * keeps, the route tokens it opened): it holds at most `limit` entries and at least the
 * `limit / 2` used most recently (set, or found by `get`).
 *
 * Two generations of `limit / 2`: `set` writes into the current one; when that is full it becomes
 * the previous one, and the previous one is dropped whole. `get` moves an entry it finds in the
 * previous generation into the current one, so an entry in use stays. Every operation is O(1). A
 * least-recently-used order in one Map (delete and set again on each use, delete the first key
 * when full) is not: V8 keeps a deleted entry's slot until the table is rebuilt, and each
 * `keys().next()` walks over them from the start, microseconds per insert at a few thousand entries.
 */
export class RecentMap<K, V> {
  readonly #generation: number;
  #current = new Map<K, V>();
  #previous = new Map<K, V>();

  /** @throws RangeError unless `limit` is an even integer of at least 2. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 2 || limit % 2 !== 0) {
      throw new RangeError(`RecentMap: limit must be an even integer of at least 2, got ${limit}`);
    }
    this.#generation = limit / 2;
  }

  /** Entries held now (at most `limit`). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: K): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const older = this.#previous.get(key);
    if (older !== undefined) {
      this.#previous.delete(key);
      this.set(key, older);
    }
    return older;
  }

  set(key: K, value: V): void {
    if (!this.#current.has(key) && this.#current.size >= this.#generation) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
    this.#previous.delete(key);
  }
}
