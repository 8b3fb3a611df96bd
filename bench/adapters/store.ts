/**
 * Record store benchmark: compare-and-set commits per second through `@sipedge/store` on Redis,
 * the way a transaction worker commits (load → change → CAS commit, retried on conflict).
 * 1. Uncontended: `concurrency` writers, each on its own record (its own hash tag).
 * 2. Contended: the same writers on one record; conflicts are retried and counted.
 * Bounded: at most `maxCommits` commits or `maxMs` per phase. The caller prints.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '@sipedge/telemetry';
import { createRedisStores, type RecordStore } from '@sipedge/store';

export interface StoreBenchPhase {
  commits: number;
  commitsPerSecond: number;
  /** Failed compare-and-set attempts (each retried after a reload). */
  conflicts: number;
  /** Round trips per successful commit: loads plus commit attempts. */
  roundTripsPerCommit: number;
}

export interface StoreBenchResult {
  uncontended: StoreBenchPhase;
  contended: StoreBenchPhase;
}

const CONCURRENCY = 32;
const MAX_COMMITS = 50_000;
const MAX_MS = 5000;
const VALUE = 'x'.repeat(1500);

async function phase(records: RecordStore, keyOf: (writer: number) => string): Promise<StoreBenchPhase> {
  let commits = 0;
  let conflicts = 0;
  let roundTrips = 0;
  const start = Date.now();
  const writer = async (id: number) => {
    const key = keyOf(id);
    while (commits < MAX_COMMITS && Date.now() - start < MAX_MS) {
      const [current] = await records.load([key]);
      roundTrips += 2;
      const result = await records.commit([
        { key, expectedVersion: current?.version ?? 0, value: VALUE, ttlMs: 60_000 },
      ]);
      if (result.ok) commits++;
      else conflicts++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => writer(i)));
  const seconds = (Date.now() - start) / 1000;
  return { commits, commitsPerSecond: commits / seconds, conflicts, roundTripsPerCommit: roundTrips / commits };
}

export async function benchStore(redisUrl: string): Promise<StoreBenchResult> {
  const stores = await createRedisStores({ url: redisUrl }, createLogger({ name: 'bench-store', level: 'silent' }));
  try {
    const run = randomUUID();
    const uncontended = await phase(stores.records, (i) => `bench:{${run}-${i}}:tx`);
    const contended = await phase(stores.records, () => `bench:{${run}}:shared`);
    return { uncontended, contended };
  } finally {
    await stores.close();
  }
}
