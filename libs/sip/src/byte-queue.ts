/** Capacity an empty queue keeps for the next bytes; a larger buffer is released (see `consume`). */
const RETAINED_CAPACITY = 4096;

/**
 * A FIFO of bytes with amortised O(1) append and consume: one buffer that doubles when full, read
 * from an offset that moves forward, compacted when the unused front outgrows the data. Once
 * empty it keeps at most {@link RETAINED_CAPACITY} bytes, so a connection that once carried a large
 * message does not hold a buffer of its size for the rest of its life.
 */
export class ByteQueue {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Bytes allocated: the queued ones and room for more. */
  get capacity(): number {
    return this.buf.length;
  }

  append(chunk: Buffer): void {
    if (this.end + chunk.length > this.buf.length) this.grow(chunk.length);
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** The queued bytes, without copying; valid until the next append or consume. */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  consume(n: number): void {
    this.start += Math.min(n, this.length);
    if (this.start !== this.end) return;
    this.start = this.end = 0;
    if (this.buf.length > RETAINED_CAPACITY) this.buf = Buffer.alloc(0);
  }

  clear(): void {
    this.buf = Buffer.alloc(0);
    this.start = this.end = 0;
  }

  private grow(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length && this.start >= this.length) {
      // Enough room once the consumed front is reclaimed.
      this.buf.copy(this.buf, 0, this.start, this.end);
    } else {
      const next = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2, 1024));
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
    }
    this.end -= this.start;
    this.start = 0;
  }
}
