/**
 * The number of stream connections one edge process may hold at once, shared by its TCP and TLS
 * transports: accepted connections from the moment they are accepted (TLS handshakes included)
 * and outgoing ones from the moment they are attempted, each until its socket closes. Every
 * connection holds a file descriptor, kernel socket buffers and its flow's read and write buffers,
 * so the process's open-file limit must be above `max` (plus the few descriptors of its own).
 */
export class ConnectionLimit {
  #open = 0;

  /** @throws RangeError when `max` is not a positive integer. */
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`connection limit: expected an integer >= 1, got ${max}`);
  }

  /** Connections holding a place now. */
  get open(): number {
    return this.#open;
  }

  /** Takes a place for a new connection; false when every place is taken (refuse the connection). */
  acquire(): boolean {
    if (this.#open >= this.max) return false;
    this.#open += 1;
    return true;
  }

  /** Gives back the place of a connection that has closed (or was never opened). */
  release(): void {
    if (this.#open > 0) this.#open -= 1;
  }
}
