import { hash } from 'node:crypto';

/** Keys a generation holds at most by default: a full lifetime (64·T1 = 32 s) of ~3,000 new requests a second. */
const DEFAULT_MAX_PER_GENERATION = 100_000;

/**
 * Keys of initial requests this edge handed off lately, for a bounded time: a request seen again
 * within that time is a retransmission of a transaction in flight. Edge-local soft state, used only
 * to keep passing retransmissions on while the edge drains; losing it loses nothing.
 *
 * The keys come from the wire (Via branch, Call-ID), so memory is bounded regardless of what is
 * sent: each key is held as a SHA-1 digest (28 characters), and a generation that reaches
 * `maxPerGeneration` keys is rotated early (during a flood of new requests retransmissions are
 * then recognised for less than the lifetime, which only matters while draining).
 */
export class RecentInitialRequests {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = 0;

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxPerGeneration = DEFAULT_MAX_PER_GENERATION,
  ) {}

  /** Keys held (both generations): never more than twice `maxPerGeneration`. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** True when `key` was recorded within the lifetime. */
  has(key: string, now: number): boolean {
    this.rotate(now);
    const id = digest(key);
    const at = this.current.get(id) ?? this.previous.get(id);
    return at !== undefined && now - at < this.lifetimeMs;
  }

  record(key: string, now: number): void {
    this.rotate(now);
    const id = digest(key);
    if (this.current.has(id)) return;
    if (this.current.size >= this.maxPerGeneration) this.startGeneration(now);
    this.current.set(id, this.previous.get(id) ?? now);
  }

  /** Two generations: memory stays bounded by the traffic of two lifetimes, and by the cap. */
  private rotate(now: number): void {
    if (now - this.rotatedAt >= this.lifetimeMs) this.startGeneration(now);
  }

  private startGeneration(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}

/** A fixed-size stand-in for a key of any length. */
function digest(key: string): string {
  return hash('sha1', key, 'base64');
}
