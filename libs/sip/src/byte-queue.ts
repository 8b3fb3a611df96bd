/**
 * A FIFO of bytes with amortised O(1) append and consume: one buffer that doubles when full, read
 * from an offset that moves forward, compacted when the unused front outgrows the data.
 */
export class ByteQueue {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
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
    if (this.start === this.end) this.start = this.end = 0;
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
