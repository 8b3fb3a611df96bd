/**
 * Identity of a timer job and the shard it lives in, shared by both adapters.
 *
 * BullMQ rejects custom job ids that contain ':' (it reserves them for its own repeatable-job ids)
 * and ids that parse as integers. Keys and timer names are percent-encoded (`encodeURIComponent`
 * encodes ':' and '/', among others) and joined with '/', so the id is unambiguous for any key,
 * never contains ':' and never looks like an integer (it starts with `t/`).
 */
export function timerJobId(key: string, timer: string, generation: number): string {
  return `t/${encodeURIComponent(key)}/${encodeURIComponent(timer)}/${generation}`;
}

/**
 * Shard of a key: FNV-1a (32 bit) of its UTF-16 code units, modulo the shard count. Stable across
 * processes and releases; every process must use the same shard count (changing it strands the
 * jobs of keys whose shard moved: cancels miss them, although any worker still fires them).
 */
export function shardOf(key: string, shards: number): number {
  if (shards <= 1) {
    return 0;
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Checks the arguments every adapter takes the same way; throws RangeError/TypeError. */
export function checkTimerArgs(key: string, timer: string, generation: number, delayMs?: number): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('timer key: expected a non-empty string');
  }
  if (typeof timer !== 'string' || timer.length === 0) {
    throw new TypeError('timer name: expected a non-empty string');
  }
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new RangeError(`timer generation: expected a non-negative integer, got ${generation}`);
  }
  if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0)) {
    throw new RangeError(`timer delay: expected a finite number of ms >= 0, got ${delayMs}`);
  }
}
