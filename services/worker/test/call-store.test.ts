/**
 * The call store's parsed records: a record this worker committed is taken again without parsing
 * only while the store still holds exactly that record, so another worker's commit is always seen.
 */
import { MemoryRecordStore } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers } from '@sipedge/timers';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { describe, expect, it } from 'vitest';
import { CallStore } from '../src/call-store.js';
import { WorkerMetrics } from '../src/metrics.js';
import type { CallRecord } from '../src/record.js';

const logger = createLogger({ name: 'call-store-test', level: 'silent' });

/** A record with nothing armed: enough for the store, which only reads its transactions and timers. */
const record = (id: string, mark: string): CallRecord =>
  ({
    v: 1,
    id,
    server: { state: 'proceeding', timers: {}, request: mark },
    origin: { transport: 'udp', source: { address: '192.0.2.1', port: 5060 }, receivedAt: 0 },
    proxy: null,
    template: mark,
    hops: {},
    recordRoute: null,
    forks: [],
    cancelServer: null,
    cancelOrigin: null,
  }) as unknown as CallRecord;

describe('the call store', () => {
  it('sees what another worker committed, though it keeps its own last commit parsed', async () => {
    const records = new MemoryRecordStore();
    const hub = new MemoryTimerHub();
    const store = (name: string) =>
      new CallStore(
        records,
        new MemoryTimers({ hub, logger }),
        { timers: DEFAULT_TIMERS },
        new WorkerMetrics(),
        logger.child({ name }),
      );
    const [mine, other] = [store('mine'), store('other')];
    await mine.update('c1', () => ({ record: record('c1', 'first'), effects: [] }));
    const seen: string[] = [];
    await mine.update('c1', (before) => {
      seen.push(before!.template!);
      return null;
    });
    await other.update('c1', (before) => ({ record: { ...before!, template: 'changed elsewhere' }, effects: [] }));
    await mine.update('c1', (before) => {
      seen.push(before!.template!);
      return { record: { ...before!, template: 'mine again' }, effects: [] };
    });
    expect(seen).toEqual(['first', 'changed elsewhere']);
    expect(JSON.parse((await records.load(['sipedge:call:{c1}']))[0]!.value).template).toBe('mine again');
  });
});
