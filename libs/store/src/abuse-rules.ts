import type { Ban, RequestCounts } from './ports.js';

/**
 * Checks a request-counter batch the same way for both adapters (HINCRBY takes integers only) and
 * returns the counters' TTL in whole ms (`wholeMs`).
 */
export function checkRequests(counts: RequestCounts, ttlMs: number): number {
  for (const [address, count] of counts) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new TypeError(`request count of ${address} must be a non-negative integer, got ${count}`);
    }
  }
  return wholeMs(ttlMs, 'ttlMs');
}

/** A TTL or window in whole ms as Redis applies it (PEXPIRE takes integers; at least 1 ms). */
export function wholeMs(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new TypeError(`${what} must be a positive number of ms, got ${ms}`);
  return Math.max(1, Math.ceil(ms));
}

/** Checks a ban before it is stored (a sorted-set score must be a number). */
export function checkBan(ban: Ban): void {
  if (!Number.isFinite(ban.until) || !Number.isFinite(ban.createdAt)) {
    throw new TypeError(`ban of ${ban.address}: until and createdAt must be epoch ms`);
  }
}

/** A copy with exactly the Ban fields (callers may pass objects with more). */
export function banOf(b: Ban): Ban {
  return { address: b.address, until: b.until, reason: b.reason, createdAt: b.createdAt };
}

/** Orders bans by address (code-unit order, the same in every adapter). */
export function byAddress(a: Ban, b: Ban): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}
