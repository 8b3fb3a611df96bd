import { assertOneSlot } from './keys.js';
import { type CommitResult, type RecordStore, type RecordWrite, type StoredRecord, textOf } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

/** Records are stored as "<version>:<value>" strings, so MGET loads several with their versions. */
function decodeRecord(raw: string | null): StoredRecord | null {
  if (raw === null) return null;
  const colon = raw.indexOf(':');
  return { version: Number(raw.slice(0, colon)), value: raw.slice(colon + 1) };
}

/** Versioned records: MGET to load (one round trip), commit.lua to compare-and-set (one script). */
export class RedisRecordStore implements RecordStore {
  private readonly commitScript;

  constructor(private readonly client: RedisClient) {
    this.commitScript = loadScript(client, 'commit.lua');
  }

  async load(keys: readonly string[]): Promise<(StoredRecord | null)[]> {
    assertOneSlot(keys);
    const raw = await guarded(this.client, () => this.client.mget(...keys));
    return raw.map(decodeRecord);
  }

  async commit(writes: readonly RecordWrite[]): Promise<CommitResult> {
    assertOneSlot(writes.map((w) => w.key));
    const args: (string | number)[] = [];
    for (const w of writes) {
      args.push(
        w.expectedVersion,
        w.value === null ? 'del' : 'set',
        w.value === null ? '' : textOf(w.value),
        Math.max(1, Math.ceil(w.ttlMs)),
      );
    }
    const reply = (await guarded(this.client, () =>
      this.commitScript(writes.length, ...writes.map((w) => w.key), ...args),
    )) as (number | string)[];
    if (reply[0] === 1) return { ok: true, versions: reply.slice(1).map(Number) };
    return { ok: false, conflicts: reply.slice(1).map(String) };
  }
}
