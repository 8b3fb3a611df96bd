import type { Bus, Subscription } from '@sipedge/bus';
import { SUBJECTS, WORKER_LOAD, WORKER_PRESENCE, decodeWorkerLoad, isSubjectToken } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';
import { RecentMap } from '@sipedge/transaction';
import { fnv1a32, mix32 } from './call-hash.js';

/**
 * New calls placed on another worker than their own that this edge remembers (`RecentMap`): those of
 * many seconds of overload at a high rate. An older one's messages go to its own worker, which
 * loads its record (any worker can handle any message).
 */
export const PLACED_CALLS_KEPT = 16_384;

/**
 * The transaction workers this edge has heard from (SUBJECTS.workersAlive), and the one a call's
 * messages go to: call affinity. Every message of a call carries its Call-ID (RFC 3261 §8.1.1.4,
 * §12.2.1.1), so a rendezvous hash of the Call-ID over the live workers sends them all to one
 * worker, whose kept record stays current (no failed compare-and-set, no reload, no two events of
 * one call on two workers at once). When that worker leaves, only its own calls move, each to the
 * worker that ranks next for it.
 *
 * A worker is forgotten when it announces it is gone (SUBJECTS.workerGone), when a hand-off to it
 * reaches nobody (`gone`, from the bus's no-responders answer: a killed worker's subscription ends
 * with its connection), or when it has not been heard for WORKER_PRESENCE.expiresMs (a stuck
 * worker). Affinity saves work; correctness never depends on it: any worker can handle any message.
 *
 * It also keeps what saturated workers report of their backlog (SUBJECTS.workersLoad), so that
 * overload control judges the new calls bound to such a worker here, before the hand-off: while a
 * worker reports a backlog, its new calls go to another worker that has reported none for
 * WORKER_LOAD.calmMs, remembered so that each call's later messages through this edge follow
 * (`placeElsewhere`), and are refused in proportion only when no worker is so calm. A worker that
 * reported lately is near its own limit: moving calls to it would make two workers take turns at
 * overload, with the retransmissions of the calls each takes while it is behind.
 */
export class WorkerDirectory {
  /** Worker instance → when it was last heard (epoch ms). */
  readonly #heard = new Map<string, number>();
  /** Worker instance → its last reported backlog (ms) and when it came (epoch ms). */
  readonly #load = new Map<string, { backlogMs: number; at: number }>();
  /** Worker instance → when it last reported a backlog (epoch ms). */
  readonly #lastBacklog = new Map<string, number>();
  /** The live workers and the hash of each id, rebuilt when the set changes. */
  #ids: string[] = [];
  #seeds: number[] = [];
  /** Call-ID → the worker `placeElsewhere` placed it on instead of its own. */
  readonly #placed = new RecentMap<string, string>(PLACED_CALLS_KEPT);
  #subscriptions: Subscription[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  /** `placedElsewhere`: called for each new call placed on another worker than its own (a metric). */
  constructor(
    private readonly bus: Pick<Bus, 'subscribe'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly placedElsewhere: () => void = () => undefined,
  ) {}

  /** Listens for announcements; forgets silent workers every heartbeat. */
  async start(): Promise<void> {
    this.#subscriptions = [
      await this.bus.subscribe(SUBJECTS.workersAlive, (m) => this.heard(Buffer.from(m.data).toString('utf8'))),
      await this.bus.subscribe(SUBJECTS.workerGone, (m) => this.gone(Buffer.from(m.data).toString('utf8'))),
      await this.bus.subscribe(SUBJECTS.workersLoad, (m) => this.loadReported(m.data)),
    ];
    this.#sweeper = setInterval(() => this.sweep(), WORKER_PRESENCE.heartbeatMs);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all(this.#subscriptions.map((s) => s.unsubscribe()));
    this.#subscriptions = [];
  }

  /** The live workers' instance ids. */
  get workers(): readonly string[] {
    return this.#ids;
  }

  /**
   * The worker the messages of the call `callId` go to: the one `placeElsewhere` placed it on while
   * that worker lives, else its own; undefined while no worker is known.
   */
  pick(callId: string): string | undefined {
    if (this.#placed.size > 0) {
      const placed = this.#placed.get(callId);
      if (placed !== undefined && this.#heard.has(placed)) return placed;
    }
    return this.#own(callId);
  }

  /**
   * The backlog the worker of the call `callId` reports (`backlogMs` of `pick`); 0 at once while no
   * worker reports one, so that new calls cost no pick here but in overload.
   */
  backlogOfCall(callId: string): number {
    return this.#load.size === 0 ? 0 : this.backlogMs(this.pick(callId));
  }

  /**
   * Places a new call whose own worker reports a backlog on the next worker of the call's
   * rendezvous order that has room (no backlog reported for WORKER_LOAD.calmMs), remembered for
   * `pick`; false when no other worker has.
   */
  placeElsewhere(callId: string): boolean {
    const calmSince = this.now() - WORKER_LOAD.calmMs;
    const roomy = this.#ranked(callId)
      .slice(1)
      .find((instance) => (this.#lastBacklog.get(instance) ?? -Infinity) < calmSince);
    if (roomy === undefined) return false;
    this.#placed.set(callId, roomy);
    this.placedElsewhere();
    return true;
  }

  /** The call's own worker: the highest rendezvous score of its Call-ID (`#ranked`'s first). */
  #own(callId: string): string | undefined {
    const count = this.#ids.length;
    if (count <= 1) return this.#ids[0];
    const key = fnv1a32(callId);
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < count; i++) {
      const score = mix32(key ^ this.#seeds[i]!);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return this.#ids[best];
  }

  /** The live workers in the rendezvous order of the call `callId`, its own first. */
  #ranked(callId: string): string[] {
    const key = fnv1a32(callId);
    const scores = this.#seeds.map((seed) => mix32(key ^ seed));
    // A stable sort: of equal scores the first worker wins, as in `#own`.
    return this.#ids
      .map((_, i) => i)
      .sort((a, b) => scores[b]! - scores[a]!)
      .map((i) => this.#ids[i]!);
  }

  /**
   * The backlog the worker `instance` last reported (ms), 0 when it reported none within
   * WORKER_LOAD.expiresMs, or when `instance` is undefined (no worker known).
   */
  backlogMs(instance: string | undefined): number {
    if (instance === undefined) return 0;
    const load = this.#load.get(instance);
    if (load === undefined) return 0;
    return this.now() - load.at <= WORKER_LOAD.expiresMs ? load.backlogMs : 0;
  }

  /** A worker reported its backlog (0: it is over). */
  loadReported(payload: Uint8Array): void {
    const report = decodeWorkerLoad(payload);
    if (report === undefined) {
      this.logger.warn('worker load report not understood; ignored');
      return;
    }
    // Only of a worker heard from: what is kept is bounded by the live workers.
    if (report.backlogMs === 0 || !this.#heard.has(report.instance)) {
      this.#load.delete(report.instance);
      return;
    }
    const now = this.now();
    this.#load.set(report.instance, { backlogMs: report.backlogMs, at: now });
    this.#lastBacklog.set(report.instance, now);
  }

  /** A worker announced itself. */
  heard(instance: string): void {
    if (!isSubjectToken(instance)) {
      this.logger.warn({ instance: instance.slice(0, 80) }, 'worker announcement not understood; ignored');
      return;
    }
    const known = this.#heard.has(instance);
    this.#heard.set(instance, this.now());
    if (!known) {
      this.logger.info({ instance }, 'worker joined');
      this.#rebuild();
    }
  }

  /** A worker is gone (it said so, or a hand-off to it reached nobody): its calls move to the others. */
  gone(instance: string): void {
    this.#forgetLoad(instance);
    if (!this.#heard.delete(instance)) return;
    this.logger.info({ instance }, 'worker left');
    this.#rebuild();
  }

  /** Forgets the workers not heard for WORKER_PRESENCE.expiresMs. */
  sweep(): void {
    const oldest = this.now() - WORKER_PRESENCE.expiresMs;
    let changed = false;
    for (const [instance, at] of this.#heard) {
      if (at < oldest) {
        this.#heard.delete(instance);
        this.#forgetLoad(instance);
        this.logger.warn({ instance }, 'worker not heard for a while; forgotten');
        changed = true;
      }
    }
    if (changed) this.#rebuild();
  }

  #forgetLoad(instance: string): void {
    this.#load.delete(instance);
    this.#lastBacklog.delete(instance);
  }

  #rebuild(): void {
    this.#ids = [...this.#heard.keys()].sort();
    this.#seeds = this.#ids.map(fnv1a32);
  }
}
