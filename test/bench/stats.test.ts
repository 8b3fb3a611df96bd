import { describe, expect, it } from 'vitest';
import { bucketDelta, bucketSum, histogramQuantile, parseHistogram, percentile } from '../../bench/support/stats.js';

describe('bench statistics', () => {
  it('takes the nearest-rank percentile of sorted samples, NaN of none', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 0.5)).toBe(50);
    expect(percentile(samples, 0.99)).toBe(99);
    expect(percentile(samples, 1)).toBe(100);
    expect(percentile([7], 0.01)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('sums a Prometheus histogram over label sets and interpolates quantiles inside a bucket', () => {
    const text = [
      '# TYPE sipedge_worker_timer_lateness_seconds histogram',
      'sipedge_worker_timer_lateness_seconds_bucket{le="0.001"} 50',
      'sipedge_worker_timer_lateness_seconds_bucket{le="0.01"} 90',
      'sipedge_worker_timer_lateness_seconds_bucket{le="+Inf"} 100',
      'sipedge_worker_timer_lateness_seconds_bucket{timer="B",le="0.001"} 50',
      'sipedge_worker_timer_lateness_seconds_bucket{timer="B",le="0.01"} 90',
      'sipedge_worker_timer_lateness_seconds_bucket{timer="B",le="+Inf"} 100',
      'sipedge_worker_timer_lateness_seconds_sum 1.5',
      'other_bucket{le="1"} 7',
    ].join('\n');
    const buckets = parseHistogram(text, 'sipedge_worker_timer_lateness_seconds');
    expect([...buckets]).toEqual([
      [0.001, 100],
      [0.01, 180],
      [Infinity, 200],
    ]);
    // Rank 100 of 200 is the top of the first bucket; rank 140 is half-way through the second.
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.001);
    expect(histogramQuantile(buckets, 0.7)).toBeCloseTo(0.0055);
    // In +Inf: the last finite bound.
    expect(histogramQuantile(buckets, 0.99)).toBeCloseTo(0.01);
    expect(histogramQuantile(new Map(), 0.5)).toBeUndefined();
  });

  it('subtracts and adds histograms bucket by bucket, and refuses a counter that went down', () => {
    const before = new Map([
      [0.001, 1],
      [Infinity, 2],
    ]);
    const after = new Map([
      [0.001, 4],
      [Infinity, 9],
    ]);
    expect([...bucketDelta(before, after)]).toEqual([
      [0.001, 3],
      [Infinity, 7],
    ]);
    expect([...bucketSum(before, after)]).toEqual([
      [0.001, 5],
      [Infinity, 11],
    ]);
    expect(() => bucketDelta(after, before)).toThrow(/went down/);
  });
});
