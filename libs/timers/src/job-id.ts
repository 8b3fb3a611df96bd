/**
 * Identity of a deadline's job and the shard it lives in, shared by both adapters.
 *
 * BullMQ rejects custom job ids that contain ':' (it reserves them for its own repeatable-job ids)
 * and ids that parse as integers. The key is percent-encoded (`encodeURIComponent` encodes ':' and
 * '/', among others) and joined to the seq with '/', so the id is unambiguous for any key, never
 * contains ':' and never looks like an integer (it starts with `d/`).
 */
export function deadlineJobId(key: string, seq: number): string {
  return `d/${encodeURIComponent(key)}/${seq}`;
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
export function checkDeadlineArgs(key: string, seq: number, dueAt?: number): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('deadline key: expected a non-empty string');
  }
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`deadline seq: expected a non-negative integer, got ${seq}`);
  }
  if (dueAt !== undefined && (!Number.isFinite(dueAt) || dueAt < 0)) {
    throw new RangeError(`deadline due time: expected epoch ms >= 0, got ${dueAt}`);
  }
}
