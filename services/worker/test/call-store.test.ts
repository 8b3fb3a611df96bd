/**
 * The call store's kept states: an event applies to the state this worker last saw of a record
 * without loading it; a commit that another worker's overtook is applied again to a fresh load, a
 * refusal is checked against one, and the deadline job a failed attempt added is never reused.
 */
import { MemoryRecordStore, type RecordStore } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers, type TimerService } from '@sipedge/timers';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { describe, expect, it, vi } from 'vitest';
import { CallStore, DEFAULT_DEADLINE_TAKEOVER_MS } from '../src/call-store.js';
import { WorkerMetrics } from '../src/metrics.js';
import type { CallRecord } from '../src/record.js';

const logger = createLogger({ name: 'call-store-test', level: 'silent' });
const KEY = 'sipedge:call:{c1}';

/** A record with nothing armed, or with Timer B of its server transaction due at `timerB`. */
const record = (mark: string, timerB?: number): CallRecord =>
  ({
    v: 1,
    id: 'c1',
    server: { state: 'proceeding', timers: timerB === undefined ? {} : { B: { gen: 1, due: timerB } }, request: mark },
    origin: { transport: 'udp', source: { address: '192.0.2.1', port: 5060 }, receivedAt: 0 },
    proxy: null,
    template: mark,
    hops: {},
    recordRoute: null,
    forks: [],
    cancelServer: null,
    cancelOrigin: null,
  }) as unknown as CallRecord;

/** Two workers' call stores on one record store and one timer hub, counting the record loads. */
function fleet() {
  const records = new MemoryRecordStore();
  const hub = new MemoryTimerHub();
  const added: { seq: number; due: number }[] = [];
  let loads = 0;
  let commits = 0;
  const counted: RecordStore = {
    load: (keys) => {
      loads++;
      return records.load(keys);
    },
    commit: (writes) => {
      commits++;
      return records.commit(writes);
    },
  };
  const metrics = { mine: new WorkerMetrics(), other: new WorkerMetrics() };
  const store = (name: string, deadlineTakeoverMs?: number) => {
    const timers = new MemoryTimers({ hub, logger });
    const recording: TimerService = Object.assign(Object.create(timers) as TimerService, {
      add: (key: string, seq: number, due: number) => {
        added.push({ seq, due });
        return timers.add(key, seq, due);
      },
    });
    return new CallStore(
      counted,
      recording,
      { timers: DEFAULT_TIMERS, ...(deadlineTakeoverMs === undefined ? {} : { deadlineTakeoverMs }) },
      name in metrics ? metrics[name as keyof typeof metrics] : new WorkerMetrics(),
      logger.child({ name }),
    );
  };
  return {
    records,
    hub,
    added,
    loads: () => loads,
    commits: () => commits,
    metrics,
    mine: store('mine'),
    other: store('other'),
    store,
  };
}

const conflicts = async (metrics: WorkerMetrics) =>
  (await metrics.registry.getSingleMetric('sipedge_worker_commit_conflicts_total')!.get()).values[0]?.value;

const stored = async (records: RecordStore) => JSON.parse((await records.load([KEY]))[0]!.value) as CallRecord;

describe('the call store', () => {
  it('applies the next event to the state it committed without loading it again', async () => {
    const f = fleet();
    await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
    const loadsAfterCreate = f.loads();
    const seen: string[] = [];
    await f.mine.update('c1', (before) => {
      seen.push(before!.template!);
      return { record: { ...before!, template: 'second' }, effects: [] };
    });
    expect(seen).toEqual(['first']);
    expect(f.loads()).toBe(loadsAfterCreate);
    expect((await stored(f.records)).template).toBe('second');
  });

  it('encodes no record an in-memory store is not asked for, and a loaded one once, parsing none it kept', async () => {
    const f = fleet();
    const stringify = vi.spyOn(JSON, 'stringify');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
      await f.mine.update('c1', (before) => ({ record: { ...before!, template: 'second' }, effects: [] }));
      expect(stringify).not.toHaveBeenCalled();
      // Another worker's event loads the record: its JSON is encoded then, once.
      await f.other.update('c1', (before) => ({ record: { ...before!, template: 'third' }, effects: [] }));
      expect(stringify).toHaveBeenCalledTimes(1);
      expect(parse).toHaveBeenCalledTimes(1);
      // Loaded back by the worker that kept it: the text is compared, not parsed again.
      await f.other.prefetch('c1');
      stringify.mockClear();
      parse.mockClear();
      await f.mine.update('c1', (before) => ({
        record: { ...before!, template: `${before!.template} + mine` },
        effects: [],
      }));
      expect(stringify).toHaveBeenCalledTimes(1);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
      parse.mockRestore();
    }
    expect((await stored(f.records)).template).toBe('third + mine');
  });

  it('runs two events of one record in this worker one after the other: neither commit is wasted', async () => {
    const f = fleet();
    await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
    const [commits, loads] = [f.commits(), f.loads()];
    const next = (mark: string) => (before: CallRecord | null) => ({
      record: { ...before!, template: `${before!.template} ${mark}` },
      effects: [],
    });
    await Promise.all([f.mine.update('c1', next('180')), f.mine.update('c1', next('200'))]);
    expect((await stored(f.records)).template).toBe('first 180 200');
    expect([f.commits() - commits, f.loads() - loads]).toEqual([2, 0]);
  });

  it('sees what another worker committed: the event is applied again to a fresh load', async () => {
    const f = fleet();
    await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
    await f.other.update('c1', (before) => ({ record: { ...before!, template: 'changed elsewhere' }, effects: [] }));
    const seen: string[] = [];
    await f.mine.update('c1', (before) => {
      seen.push(before!.template!);
      return { record: { ...before!, template: `${before!.template} + mine` }, effects: [] };
    });
    expect(seen).toEqual(['first', 'changed elsewhere']);
    expect((await stored(f.records)).template).toBe('changed elsewhere + mine');
    expect(await conflicts(f.metrics.mine)).toBe(1);
    expect(await conflicts(f.metrics.other)).toBe(0);
  });

  it('refuses an event only on a fresh load, never on the kept state alone', async () => {
    const f = fleet();
    await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
    await f.other.update('c1', (before) => ({ record: { ...before!, template: 'ready' }, effects: [] }));
    const taken = await f.mine.update('c1', (before) =>
      before?.template === 'ready' ? { record: { ...before, template: 'taken' }, effects: [] } : null,
    );
    expect(taken).not.toBeNull();
    expect((await stored(f.records)).template).toBe('taken');
    const absent = await f.mine.update('c2', () => null);
    expect(absent).toBeNull();
  });

  it("does not reuse the seq of a deadline job that a failed commit's attempt added", async () => {
    const f = fleet();
    const t0 = Date.now() + 60_000;
    await f.mine.update('c1', () => ({ record: record('first'), effects: [] }));
    await f.other.update('c1', (before) => ({ record: { ...before!, template: 'moved on' }, effects: [] }));
    // Mine applies to its stale state first (Timer B armed: a new deadline job), fails its commit,
    // and applies again to the fresh state, with an earlier Timer B: that job must be another one.
    await f.mine.update('c1', (before) => ({
      record: record(before!.template!, before!.template === 'first' ? t0 : t0 - 1000),
      effects: [],
    }));
    // Each job runs the takeover delay after its deadline's due time.
    expect(f.added.map((a) => a.due - DEFAULT_DEADLINE_TAKEOVER_MS)).toEqual([t0, t0 - 1000]);
    const [stale, fresh] = f.added.map((a) => a.seq);
    expect(fresh).toBeGreaterThan(stale!);
    expect((await stored(f.records)).deadline).toEqual({ due: t0 - 1000, seq: fresh });
  });

  it('runs a deadline job the configured takeover delay after the deadline is due', async () => {
    const f = fleet();
    const due = Date.now() + 60_000;
    await f.store('quick', 250).update('c1', () => ({ record: record('first', due), effects: [] }));
    expect(f.added).toEqual([{ seq: 1, due: due + 250 }]);
    expect((await stored(f.records)).deadline).toEqual({ due, seq: 1 });
  });

  it('replaces a deadline that is due and no longer needed by the next, and disarms its job', async () => {
    const f = fleet();
    const now = Date.now();
    await f.mine.update('c1', () => ({ record: record('first', now + 30), effects: [] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The local timer fired Timer B's stand-in: the next durable timer is a minute away.
    const later = Date.now() + 60_000;
    const committed = await f.mine.update('c1', (before) => ({
      record: record(before!.template!, later),
      effects: [],
    }));
    expect(committed?.disarm).toBe(1);
    expect(f.added.map((a) => a.seq)).toEqual([1, 2]);
    expect((await stored(f.records)).deadline).toEqual({ due: later, seq: 2 });
    expect(committed?.wakeAt).toBe(later);
  });

  it('keeps a deadline that is not yet due when the next timer is later: it fires early and re-arms', async () => {
    const f = fleet();
    const soon = Date.now() + 30_000;
    await f.mine.update('c1', () => ({ record: record('first', soon), effects: [] }));
    const committed = await f.mine.update('c1', (before) => ({
      record: record(before!.template!, soon + 60_000),
      effects: [],
    }));
    expect(committed?.disarm).toBeUndefined();
    expect(f.added.map((a) => a.seq)).toEqual([1]);
    expect((await stored(f.records)).deadline).toEqual({ due: soon, seq: 1 });
  });

  it('prefetches a record it does not keep, so that its next event needs no load; a kept one costs nothing', async () => {
    const f = fleet();
    await f.other.update('c1', () => ({ record: record('first'), effects: [] }));
    const loads = f.loads();
    await f.mine.prefetch('c1');
    expect(f.loads()).toBe(loads + 1);
    await f.mine.prefetch('c1');
    expect(f.loads()).toBe(loads + 1);
    const seen: string[] = [];
    await f.mine.update('c1', (before) => {
      seen.push(before!.template!);
      return { record: { ...before!, template: 'second' }, effects: [] };
    });
    expect(seen).toEqual(['first']);
    expect(f.loads()).toBe(loads + 1);
  });
});
