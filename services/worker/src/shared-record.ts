import type { RecordStore } from '@sipedge/store';

const MAX_ATTEMPTS = 10;

/** A fleet-wide JSON record and its version (0: not stored yet, `empty` stands in). */
export async function loadShared<T>(
  records: RecordStore,
  key: string,
  empty: T,
): Promise<{ value: T; version: number }> {
  const [stored] = await records.load([key]);
  if (stored == null) return { value: empty, version: 0 };
  return { value: JSON.parse(stored.value) as T, version: stored.version };
}

/**
 * Load → apply → compare-and-set of a fleet-wide JSON record, retried on a conflict with a fresh
 * load. Returns the committed value, or undefined when every attempt met a conflict. Store errors
 * propagate.
 */
export async function updateShared<T>(
  records: RecordStore,
  key: string,
  ttlMs: number,
  empty: T,
  apply: (value: T) => T,
): Promise<T | undefined> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { value, version } = await loadShared(records, key, empty);
    const next = apply(value);
    const committed = await records.commit([{ key, expectedVersion: version, value: JSON.stringify(next), ttlMs }]);
    if (committed.ok) return next;
  }
  return undefined;
}
