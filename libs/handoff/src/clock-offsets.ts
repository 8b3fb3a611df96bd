/**
 * A hand-off's wait is the worker's clock at its start minus the edge's at its read
 * (`InboundMeta.receivedAt`): across hosts it holds the difference between the two clocks too. With
 * NTP that is a few milliseconds; without it, or with a host whose clock drifts, a worker ahead of
 * an edge by more than the overload limit would see every hand-off "wait" past it and refuse every
 * new call. So a worker judges each wait above the least wait it saw from that edge lately, its
 * base (RFC 6817 §2.3, LEDBAT's base delay): a constant difference of the clocks then reads as no
 * wait, while a queue, which grows and shrinks, still shows above it.
 *
 * The base is the least of the last BASE_BUCKETS buckets of BASE_BUCKET_MS each, and takes only
 * waits that are no queue: while the worker is saturated, or for a wait more than half the limit
 * above the base, nothing is noted, so a long overload cannot pass for a clock difference. A bucket
 * leaves only when a newer one comes, so a base outlives an overload however long. The first wait
 * from an edge sets its base at once (a worker that starts under load takes a queue for a clock
 * difference until the queue drains, when a lower wait lowers the base).
 */
const BASE_BUCKET_MS = 60_000;
const BASE_BUCKETS = 10;
/**
 * Edges remembered at most; beyond, the one first heard of is forgotten (it learns its base again
 * from its next hand-off). A fleet has far fewer: no order of use is kept per hand-off.
 */
const MAX_EDGES = 1024;

interface EdgeBase {
  /** The least wait of each bucket, newest last. */
  minima: number[];
  /** When the newest bucket began. */
  bucketStart: number;
  /** The least of `minima`. */
  base: number;
}

export class ClockOffsets {
  readonly #edges = new Map<string, EdgeBase>();

  /**
   * How long a hand-off from `edgeId` that read `rawWaitMs` (worker clock minus edge stamp) really
   * waited: above the edge's base, never below 0. `notable`: whether this wait may lower or refresh
   * the base (the worker is not saturated); `limitMs`: the overload limit.
   */
  waited(edgeId: string, rawWaitMs: number, now: number, notable: boolean, limitMs: number): number {
    let edge = this.#edges.get(edgeId);
    if (edge === undefined) {
      edge = { minima: [rawWaitMs], bucketStart: now, base: rawWaitMs };
      this.#remember(edgeId, edge);
      return 0;
    }
    const above = rawWaitMs - edge.base;
    if (above < 0 || (notable && above <= limitMs / 2)) this.#note(edge, rawWaitMs, now);
    return Math.max(0, above);
  }

  #note(edge: EdgeBase, rawWaitMs: number, now: number): void {
    if (now - edge.bucketStart >= BASE_BUCKET_MS) {
      edge.minima.push(rawWaitMs);
      if (edge.minima.length > BASE_BUCKETS) edge.minima.shift();
      edge.bucketStart = now;
    } else {
      const last = edge.minima.length - 1;
      if (rawWaitMs >= edge.minima[last]!) return;
      edge.minima[last] = rawWaitMs;
    }
    edge.base = Math.min(...edge.minima);
  }

  #remember(edgeId: string, edge: EdgeBase): void {
    this.#edges.set(edgeId, edge);
    if (this.#edges.size > MAX_EDGES) this.#edges.delete(this.#edges.keys().next().value!);
  }
}
