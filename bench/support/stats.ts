/** Percentiles of samples and of Prometheus histograms, for the benchmarks. */

/** The nearest-rank q-quantile (0 < q ≤ 1) of sorted samples; NaN without samples. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Cumulative bucket counts of a Prometheus histogram: upper bound (`le`) → observations ≤ it. */
export type Buckets = Map<number, number>;

/** `after − before`, bucket by bucket (a counter that went down — a restarted process — is an error). */
export function bucketDelta(before: Buckets, after: Buckets): Buckets {
  const delta: Buckets = new Map();
  for (const [le, count] of after) {
    const d = count - (before.get(le) ?? 0);
    if (d < 0) throw new Error(`histogram bucket le=${le} went down (${before.get(le)} → ${count})`);
    delta.set(le, d);
  }
  return delta;
}

export function bucketSum(a: Buckets, b: Buckets): Buckets {
  const sum: Buckets = new Map(a);
  for (const [le, count] of b) sum.set(le, (sum.get(le) ?? 0) + count);
  return sum;
}

/**
 * The q-quantile (0 < q < 1) of a histogram, interpolated linearly inside the bucket it falls in,
 * as Prometheus' histogram_quantile() does; the upper bound of the last finite bucket if it falls
 * in +Inf. Undefined when the histogram is empty.
 */
export function histogramQuantile(buckets: Buckets, q: number): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? buckets.get(bounds[bounds.length - 1]!) ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = buckets.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** The `<name>_bucket` series of Prometheus text exposition, summed over label sets. */
export function parseHistogram(text: string, name: string): Buckets {
  const buckets: Buckets = new Map();
  const pattern = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} ([0-9.e+-]+)$`, 'gm');
  for (const [, le, value] of text.matchAll(pattern)) {
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(value));
  }
  return buckets;
}
