import { randomUUID } from 'node:crypto';
import type { Bus, BusHandler, Subscription } from '@sipedge/bus';
import { SUBJECTS, WORKER_LOAD, WORKER_PRESENCE, encodeWorkerLoad } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';

/**
 * This worker as the edges see it (call affinity, the edge's `WorkerDirectory`): the messages of
 * the calls bound to it arrive on a subject of its own, `sipedge.worker.<instance>.in`, and it
 * announces itself every WORKER_PRESENCE.heartbeatMs and its departure as it stops. While it is
 * saturated it also reports its backlog every WORKER_LOAD.reportMs, so that edges refuse the new
 * calls bound to it before handing them off (overload control: a call refused here has cost the
 * saturated worker a hand-off, a parse and a 503 already).
 *
 * The instance id is new in every process, not the configured worker id: it must be a subject
 * token, and a restarted worker is a new member whose predecessor's subject reaches nobody.
 */
export class WorkerPresence {
  readonly instance = randomUUID().replaceAll('-', '');
  #subscription: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #loadReports: NodeJS.Timeout | undefined;
  /** The backlog of the last load report (0: none sent, or the last said it was over). */
  #reported = 0;

  constructor(
    private readonly bus: Pick<Bus, 'subscribe' | 'publish'>,
    private readonly logger: Logger,
    /** The backlog overload control judges now (ms; 0 while the worker is not saturated). */
    private readonly backlogMs: (now: number) => number = () => 0,
  ) {}

  /** Takes the messages of its calls with `handler`, then announces itself (at once, and every heartbeat). */
  async start(handler: BusHandler): Promise<void> {
    this.#subscription = await this.bus.subscribe(SUBJECTS.workerInbound(this.instance), handler);
    this.#announce(SUBJECTS.workersAlive);
    this.#heartbeat = setInterval(() => this.#announce(SUBJECTS.workersAlive), WORKER_PRESENCE.heartbeatMs);
    this.#heartbeat.unref();
    this.#loadReports = setInterval(() => this.reportLoad(Date.now()), WORKER_LOAD.reportMs);
    this.#loadReports.unref();
  }

  /** Reports the backlog while there is one, and once more when it is over; nothing while idle. */
  reportLoad(now: number): void {
    const backlog = Math.round(this.backlogMs(now));
    if (backlog === 0 && this.#reported === 0) return;
    this.#reported = backlog;
    this.bus.publish(SUBJECTS.workersLoad, encodeWorkerLoad(this.instance, backlog)).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'worker load not reported');
    });
  }

  /**
   * Says it is gone, so that edges bind its calls elsewhere from now on, then drains its subject:
   * what edges sent before they heard is still handled, and what comes after reaches nobody and
   * goes to the queue group.
   */
  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    clearInterval(this.#loadReports);
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
