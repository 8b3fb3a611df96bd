import type { Bus, Subscription } from '@sipedge/bus';
import { SUBJECTS, WORKER_PRESENCE, isSubjectToken } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';
import { fnv1a32, mix32 } from './call-hash.js';

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
 */
export class WorkerDirectory {
  /** Worker instance → when it was last heard (epoch ms). */
  readonly #heard = new Map<string, number>();
  /** The live workers and the hash of each id, rebuilt when the set changes. */
  #ids: string[] = [];
  #seeds: number[] = [];
  #subscriptions: Subscription[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: Pick<Bus, 'subscribe'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Listens for announcements; forgets silent workers every heartbeat. */
  async start(): Promise<void> {
    this.#subscriptions = [
      await this.bus.subscribe(SUBJECTS.workersAlive, (m) => this.heard(Buffer.from(m.data).toString('utf8'))),
      await this.bus.subscribe(SUBJECTS.workerGone, (m) => this.gone(Buffer.from(m.data).toString('utf8'))),
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

  /** The worker the messages of the call `callId` go to; undefined while no worker is known. */
  pick(callId: string): string | undefined {
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
        this.logger.warn({ instance }, 'worker not heard for a while; forgotten');
        changed = true;
      }
    }
    if (changed) this.#rebuild();
  }

  #rebuild(): void {
    this.#ids = [...this.#heard.keys()].sort();
    this.#seeds = this.#ids.map(fnv1a32);
  }
}
