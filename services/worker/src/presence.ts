import { randomUUID } from 'node:crypto';
import type { Bus, BusHandler, Subscription } from '@sipedge/bus';
import { SUBJECTS, WORKER_PRESENCE } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';

/**
 * This worker as the edges see it (call affinity, the edge's `WorkerDirectory`): the messages of
 * the calls bound to it arrive on a subject of its own, `sipedge.worker.<instance>.in`, and it
 * announces itself every WORKER_PRESENCE.heartbeatMs and its departure as it stops.
 *
 * The instance id is new in every process, not the configured worker id: it must be a subject
 * token, and a restarted worker is a new member whose predecessor's subject reaches nobody.
 */
export class WorkerPresence {
  readonly instance = randomUUID().replaceAll('-', '');
  #subscription: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: Pick<Bus, 'subscribe' | 'publish'>,
    private readonly logger: Logger,
  ) {}

  /** Takes the messages of its calls with `handler`, then announces itself (at once, and every heartbeat). */
  async start(handler: BusHandler): Promise<void> {
    this.#subscription = await this.bus.subscribe(SUBJECTS.workerInbound(this.instance), handler);
    this.#announce(SUBJECTS.workersAlive);
    this.#heartbeat = setInterval(() => this.#announce(SUBJECTS.workersAlive), WORKER_PRESENCE.heartbeatMs);
    this.#heartbeat.unref();
  }

  /**
   * Says it is gone, so that edges bind its calls elsewhere from now on, then drains its subject:
   * what edges sent before they heard is still handled, and what comes after reaches nobody and
   * goes to the queue group.
   */
  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    if (this.#subscription === undefined) return;
    this.#announce(SUBJECTS.workerGone);
    await this.#subscription.unsubscribe();
    this.#subscription = undefined;
  }

  #announce(subject: string): void {
    this.bus.publish(subject, Buffer.from(this.instance)).catch((error: unknown) => {
      this.logger.warn({ err: error, subject }, 'worker presence not announced');
    });
  }
}
