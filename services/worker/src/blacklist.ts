import {
  type Blacklist,
  DEFAULT_BLACKLIST_TTL_MS,
  EMPTY_BLACKLIST,
  addFailure,
  clearFailure,
  isBlacklisted,
  orderWithBlacklist,
} from '@sipedge/proxy';
import type { RecordStore } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { Hop } from './record.js';
import { loadShared, updateShared } from './shared-record.js';

/** The fleet's blacklist record; its own hash tag (one slot in a Redis Cluster). */
export const BLACKLIST_KEY = 'sipedge:blacklist:{tuples}';

export interface BlacklistSettings {
  /** How long a failed tuple stays blacklisted; default 60 s. */
  ttlMs?: number;
  /** How old the local copy may get before a lookup reloads it; default 1000 ms. */
  refreshMs?: number;
}

/**
 * The connection blacklist (M5T §5.2.5; no RFC requires it) shared by every worker: a tuple that failed (transport
 * error, Timer B/F, 503) is tried last by new calls until its TTL runs out or it answers again; when
 * every tuple of a target is blacklisted the preferred one is used anyway. One versioned record in
 * the record store, changed with compare-and-set; each worker reads a copy at most `refreshMs` old,
 * so a failure noted by one worker reaches the others within that time. A flow hop (a registered
 * contact's own connection) is never blacklisted: it names a connection, not a reachable tuple.
 */
export class SharedBlacklist {
  private copy: Blacklist = EMPTY_BLACKLIST;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private readonly ttlMs: number;
  private readonly refreshMs: number;

  constructor(
    private readonly records: RecordStore,
    private readonly logger: Logger,
    settings: BlacklistSettings = {},
  ) {
    this.ttlMs = settings.ttlMs ?? DEFAULT_BLACKLIST_TTL_MS;
    this.refreshMs = settings.refreshMs ?? 1000;
  }

  /** The hops with the blacklisted tuples moved to the end (stable); flow hops stay where they are. */
  async order(hops: readonly Hop[], now: number): Promise<Hop[]> {
    if (hops.length < 2 || hops.some((hop) => hop.flowId !== undefined)) return [...hops];
    return orderWithBlacklist(hops, await this.current(now), now);
  }

  /** The hop failed at `now`. */
  async failed(hop: Hop, now: number): Promise<void> {
    if (hop.flowId !== undefined) return;
    await this.change(now, (list) => addFailure(list, hop, now, this.ttlMs));
  }

  /** The hop answered: off the blacklist (a write only when it is on it). */
  async answered(hop: Hop, now: number): Promise<void> {
    if (hop.flowId !== undefined || !isBlacklisted(await this.current(now), hop, now)) return;
    await this.change(now, (list) => clearFailure(list, hop, now));
  }

  private async current(now: number): Promise<Blacklist> {
    if (now - this.loadedAt < this.refreshMs) return this.copy;
    try {
      this.copy = (await loadShared(this.records, BLACKLIST_KEY, EMPTY_BLACKLIST)).value;
      this.loadedAt = now;
    } catch (error) {
      // Keep the last copy: routing with a slightly stale blacklist beats failing the call.
      this.logger.warn({ err: error }, 'blacklist not refreshed');
    }
    return this.copy;
  }

  /** Compare-and-set on the shared record; a failure is logged, never fails the call. */
  private async change(now: number, apply: (list: Blacklist) => Blacklist): Promise<void> {
    try {
      const next = await updateShared(this.records, BLACKLIST_KEY, this.ttlMs * 2, EMPTY_BLACKLIST, apply);
      if (next === undefined) {
        this.logger.warn('blacklist not changed: too many conflicting commits');
        return;
      }
      this.copy = next;
      this.loadedAt = now;
    } catch (error) {
      this.logger.warn({ err: error }, 'blacklist not changed');
    }
  }
}
