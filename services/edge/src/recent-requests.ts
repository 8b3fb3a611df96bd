/**
 * Keys of initial requests this edge handed off lately, for a bounded time: a request seen again
 * within that time is a retransmission of a transaction in flight. Edge-local soft state, used only
 * to keep passing retransmissions on while the edge drains; losing it loses nothing.
 */
export class RecentInitialRequests {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = 0;

  constructor(private readonly lifetimeMs: number) {}

  /** True when `key` was recorded within the lifetime. */
  has(key: string, now: number): boolean {
    this.rotate(now);
    const at = this.current.get(key) ?? this.previous.get(key);
    return at !== undefined && now - at < this.lifetimeMs;
  }

  record(key: string, now: number): void {
    this.rotate(now);
    if (!this.current.has(key)) this.current.set(key, this.previous.get(key) ?? now);
  }

  /** Two generations: memory stays bounded by the traffic of two lifetimes. */
  private rotate(now: number): void {
    if (now - this.rotatedAt < this.lifetimeMs) return;
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}
