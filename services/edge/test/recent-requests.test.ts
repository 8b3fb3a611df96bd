import { describe, expect, it } from 'vitest';
import { RecentInitialRequests } from '../src/recent-requests.js';

describe('RecentInitialRequests (retransmissions while draining)', () => {
  it('knows a key for its lifetime and forgets it after', () => {
    const recent = new RecentInitialRequests(1000);
    recent.record('z9hG4bK1|a:5060|c1|1', 10_000);
    expect(recent.has('z9hG4bK1|a:5060|c1|1', 10_999)).toBe(true);
    expect(recent.has('z9hG4bK2|a:5060|c1|1', 10_500)).toBe(false);
    expect(recent.has('z9hG4bK1|a:5060|c1|1', 11_000)).toBe(false);
    recent.has('other', 13_000);
    expect(recent.size).toBe(0);
  });

  it('holds at most two generations of maxPerGeneration keys, however many and however long they are', () => {
    const recent = new RecentInitialRequests(32_000, 100);
    const callId = 'x'.repeat(60_000);
    for (let i = 0; i < 1000; i++) recent.record(`z9hG4bK${i}|a:5060|${callId}|1`, 5000 + i);
    expect(recent.size).toBeLessThanOrEqual(200);
    expect(recent.has(`z9hG4bK999|a:5060|${callId}|1`, 7000)).toBe(true);
    expect(recent.has(`z9hG4bK0|a:5060|${callId}|1`, 7000)).toBe(false);
  });
});
