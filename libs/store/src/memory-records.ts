import { assertOneSlot } from './keys.js';
import {
  type CommitResult,
  type RecordStore,
  type RecordText,
  type RecordWrite,
  type StoredRecord,
  textOf,
} from './ports.js';
import { ExpiringMap } from './expiring-map.js';

/** A record as held: its text is encoded at the first load (ports.ts `RecordText`). */
interface HeldRecord {
  text: RecordText;
  readonly version: number;
}

/** In-memory twin of the Redis record store: versions, all-or-nothing CAS, one-slot rule, TTLs. */
export class MemoryRecordStore implements RecordStore {
  private readonly records = new ExpiringMap<HeldRecord>();

  async load(keys: readonly string[]): Promise<(StoredRecord | null)[]> {
    assertOneSlot(keys);
    return keys.map((k) => {
      const held = this.records.get(k);
      if (held === undefined) return null;
      held.text = textOf(held.text);
      return { value: held.text, version: held.version };
    });
  }

  async commit(writes: readonly RecordWrite[]): Promise<CommitResult> {
    assertOneSlot(writes.map((w) => w.key));
    const conflicts = writes
      .filter((w) => (this.records.get(w.key)?.version ?? 0) !== w.expectedVersion)
      .map((w) => w.key);
    if (conflicts.length > 0) return { ok: false, conflicts };
    const versions = writes.map((w) => {
      if (w.value === null) {
        this.records.delete(w.key);
        return 0;
      }
      const version = w.expectedVersion + 1;
      this.records.set(w.key, { text: w.value, version }, Date.now() + w.ttlMs);
      return version;
    });
    return { ok: true, versions };
  }

  clear(): void {
    this.records.clear();
  }
}
