import { DEFAULT_HANDOFF_RETRY, type HandoffRetrySettings, handoffReplayWindowMs } from '@sipedge/handoff';
import { type RecordStore, type RecordText, textOf } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { TimerService } from '@sipedge/timers';
import { RecentMap, type TimerSettings } from '@sipedge/transaction';
import { earliest, isSettled, latestDue } from './deadlines.js';
import type { EngineResult } from './engine.js';
import type { WorkerMetrics } from './metrics.js';
import { type CallRecord, isFinished, recordTtlMs } from './record.js';

/** Commits that meet a conflict are retried with a fresh load this many times at most. */
const MAX_ATTEMPTS = 20;

/**
 * Records whose last known state this worker keeps, for the next event of each: at most this many,
 * and at least the half of it used last (`RecentMap`).
 */
const KNOWN_KEPT = 4096;

/** How long to keep a finished record for edges that retry hand-offs so: their replay window and a margin. */
export const finishedRecordKeepMs = (handoff: HandoffRetrySettings): number => handoffReplayWindowMs(handoff) + 1000;

const DEFAULT_FINISHED_KEEP_MS = finishedRecordKeepMs(DEFAULT_HANDOFF_RETRY);

/**
 * How long after its due time a record's deadline job runs, by default. The worker that committed
 * the deadline fires it on a local timer at its due time (worker.ts), and the job, which any worker
 * may take, fires only when that one did not: its worker died or stopped, or failed to commit.
 */
export const DEFAULT_DEADLINE_TAKEOVER_MS = 1000;

/** The earlier of a record's next retransmission and its deadline's due time, or null. */
function wakeAt(record: CallRecord): number | null {
  const retransmit = earliest(record, 'retransmit');
  const deadline = record.deadline?.due ?? null;
  if (retransmit === null || deadline === null) return retransmit ?? deadline;
  return Math.min(retransmit, deadline);
}

/** The key of a call record; everything of the call lives under the hash tag of its context id. */
export const recordKey = (id: string) => `sipedge:call:{${id}}`;

/** The context id in a record key (its hash tag). */
export const idOfRecordKey = (key: string): string | undefined => /\{([^}]+)\}/.exec(key)?.[1];

/** A record's state as this worker last saw it: its version (0: absent), JSON and parsed value. */
interface KnownState {
  version: number;
  value: RecordText | null;
  record: CallRecord | null;
}

/**
 * A committed record's JSON, encoded when first asked for and then kept: by the store at the commit
 * (Redis) or at a load (the in-memory twin), and by this worker to compare a loaded record with
 * the one it kept. The record is never changed after its commit (events apply to a copy).
 */
function jsonOf(record: CallRecord): () => string {
  let json: string | undefined;
  return () => (json ??= JSON.stringify(record));
}

/** An event applied and committed. */
export interface Committed {
  key: string;
  /** The record as loaded (null: the event created it). */
  before: CallRecord | null;
  result: EngineResult;
  /**
   * Every transaction ended. The record stays for `finishedRecordKeepMs` more, so that an edge's
   * hand-off retried after the end finds it (and the request is absorbed, not handled anew), and
   * then expires.
   */
  finished: boolean;
  /** The record has just become settled (deadlines.ts) or gone: the call's work is done. */
  endedNow: boolean;
  /** After the commit: the deadline job the record no longer needs (the caller disarms it). */
  disarm?: number;
  /**
   * When this worker's local timer is to fire the record's due timers: its next retransmission or
   * its deadline's due time, whichever comes first; null when neither is armed.
   */
  wakeAt: number | null;
}

/**
 * The call records and their durable deadlines: load → apply → arm → compare-and-set commit,
 * retried with a fresh load on a conflict. The record's one deadline (`record.deadline`) is due at
 * the earliest of its durable timers (deadlines.ts); its job (@sipedge/timers) runs `takeoverMs`
 * later, the time the committing worker's local timer has to fire it first. The job is armed or
 * moved earlier *before* the commit that needs it, so that no process dies with a committed timer
 * that nothing will fire; it is removed after the commit that leaves nothing durable; it is never
 * moved later: a deadline that comes too early fires, finds nothing due, and arms the next
 * (`firing`). A deadline whose due time has passed and that the record no longer needs (its timers
 * fired) is replaced by the next one and removed after the commit.
 */
export class CallStore {
  /**
   * The last state this worker saw of each record, committed or loaded (absent included), with its
   * version. An event applies to it without a load: the compare-and-set commit fails if another
   * worker committed since, and the event is applied again to a fresh load. Most events of a call
   * come to the worker that handled the last one, which then saves a round trip per event; a stale
   * state costs one failed commit. A state is never changed: events apply to a copy.
   */
  readonly #known = new RecentMap<string, KnownState>(KNOWN_KEPT);

  /**
   * The update under way on each record in this worker: the next one waits for it, so two events of
   * one call in this worker (a 180 and a 200 read together) do not race each other's commit.
   */
  readonly #running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly records: RecordStore,
    private readonly timers: TimerService,
    private readonly settings: { timers: TimerSettings; finishedRecordKeepMs?: number; deadlineTakeoverMs?: number },
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {}

  async load(id: string): Promise<CallRecord | null> {
    return (await this.#load(recordKey(id))).record;
  }

  /**
   * Applies `apply` to the record and commits it. `apply` returns null when the record does not
   * take this event: nothing is committed and the result is null (decided on a fresh load, never on
   * a kept state alone). `firing`: the seq of the deadline job that is firing now (it cannot be
   * moved, and is gone once its handler returns).
   */
  async update(
    id: string,
    apply: (record: CallRecord | null) => EngineResult | null,
    firing?: number,
  ): Promise<Committed | null> {
    const key = recordKey(id);
    return this.#inTurn(key, () => this.#update(key, apply, firing));
  }

  /**
   * Makes sure this worker holds the record's state for its next event: loaded when it is not
   * kept, else marked as recently used. A local timer asks for it shortly before it fires, so that
   * the fire does not wait for the load (a round trip on a loaded Redis).
   */
  async prefetch(id: string): Promise<void> {
    const key = recordKey(id);
    await this.#inTurn(key, async () => {
      if (this.#known.get(key) === undefined) await this.#load(key);
    });
  }

  /** Runs `work` on the record after the work on it already under way in this worker. */
  async #inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#running.get(key);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(work);
    this.#running.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#running.get(key) === run) this.#running.delete(key);
    }
  }

  async #update(
    key: string,
    apply: (record: CallRecord | null) => EngineResult | null,
    firing: number | undefined,
  ): Promise<Committed | null> {
    let kept = this.#known.get(key);
    // A failed commit leaves the deadline job its attempt added behind: the next attempt takes a later seq.
    const added = { seq: 0 };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const state = kept ?? (await this.#load(key));
      const fromKept = kept !== undefined;
      // A retry, or a check of a refusal, reads the record afresh.
      kept = undefined;
      const before = state.record;
      const result = apply(before);
      if (result === null) {
        if (fromKept) continue;
        return null;
      }
      const record = result.record;
      const now = Date.now();
      const finished = isFinished(record);
      const settled = finished || isSettled(record);
      const want = finished ? null : earliest(record, 'durable');
      const disarm = await this.armFor(key, before, record, want, { firing, added, now });
      if (settled) record.settled = true;
      else delete record.settled;
      const keepFinishedMs = this.settings.finishedRecordKeepMs ?? DEFAULT_FINISHED_KEEP_MS;
      const ttlMs = finished ? keepFinishedMs : recordTtlMs(this.settings.timers, now, latestDue(record), settled);
      const value = finished && keepFinishedMs === 0 ? null : jsonOf(record);
      const committed = await this.metrics.redis('commit', () =>
        this.records.commit([{ key, expectedVersion: state.version, value, ttlMs }]),
      );
      if (!committed.ok) {
        this.metrics.commitConflict();
        continue;
      }
      this.#known.set(key, {
        version: committed.versions[0] ?? 0,
        value,
        record: value === null ? null : record,
      });
      return {
        key,
        before,
        result,
        finished,
        endedNow: settled && before?.settled !== true,
        ...(disarm === undefined ? {} : { disarm }),
        wakeAt: finished ? null : wakeAt(record),
      };
    }
    throw new Error(`call ${idOfRecordKey(key)}: gave up after ${MAX_ATTEMPTS} conflicting commits`);
  }

  /** Reads a record from the store (one round trip) and keeps its state; a JSON already kept is not parsed again. */
  async #load(key: string): Promise<KnownState> {
    const [stored] = await this.metrics.redis('load', () => this.records.load([key]));
    const kept = this.#known.get(key);
    const state: KnownState =
      stored == null
        ? { version: 0, value: null, record: null }
        : {
            version: stored.version,
            value: stored.value,
            record:
              kept?.value != null && textOf(kept.value) === stored.value
                ? kept.record
                : (JSON.parse(stored.value) as CallRecord),
          };
    this.#known.set(key, state);
    return state;
  }

  /**
   * Makes the timer service's deadline of `record` (about to be committed) cover `want`, its
   * earliest durable timer, and records it in `record.deadline`. Returns the seq to disarm after
   * the commit, if the old deadline is no longer needed.
   */
  private async armFor(
    key: string,
    before: CallRecord | null,
    record: CallRecord,
    want: number | null,
    { firing, added, now }: { firing: number | undefined; added: { seq: number }; now: number },
  ): Promise<number | undefined> {
    const current = before?.deadline;
    const usable = current !== undefined && current.seq !== firing ? current : undefined;
    if (want === null) {
      delete record.deadline;
      return usable?.seq;
    }
    // Passed and no longer needed: its timers fired on this worker's local timer, before its job.
    const spent = usable !== undefined && usable.due <= now && usable.due < want;
    if (usable !== undefined && !spent && usable.due <= want) {
      record.deadline = usable;
      return undefined;
    }
    const runAt = want + this.takeoverMs;
    if (
      usable !== undefined &&
      !spent &&
      (await this.metrics.redis('deadline-move', () => this.timers.move(key, usable.seq, runAt)))
    ) {
      record.deadline = { due: want, seq: usable.seq };
      return undefined;
    }
    const seq = Math.max(before?.deadlineSeq ?? 0, current?.seq ?? 0, added.seq) + 1;
    added.seq = seq;
    await this.metrics.redis('deadline-add', () => this.timers.add(key, seq, runAt));
    record.deadline = { due: want, seq };
    record.deadlineSeq = seq;
    // A spent deadline's job is removed after the commit; one that could not be moved is firing
    // (or has fired): it ends by itself.
    return spent ? usable.seq : undefined;
  }

  /** How long after a deadline's due time its job runs (DEFAULT_DEADLINE_TAKEOVER_MS). */
  get takeoverMs(): number {
    return this.settings.deadlineTakeoverMs ?? DEFAULT_DEADLINE_TAKEOVER_MS;
  }

  /** Removes a deadline job the record no longer needs (after its commit); a failure is only logged. */
  async disarm(key: string, seq: number): Promise<void> {
    try {
      await this.metrics.redis('deadline-disarm', () => this.timers.disarm(key, seq));
    } catch (error) {
      this.metrics.effectFailed('disarm');
      // Harmless: the deadline fires, finds the record without it, and does nothing.
      this.logger.warn({ err: error, key, seq }, 'deadline not disarmed');
    }
  }
}
