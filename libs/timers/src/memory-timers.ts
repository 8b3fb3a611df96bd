import { createLogger, type Logger } from '@sipedge/telemetry';
import { checkDeadlineArgs, deadlineJobId } from './job-id.js';
import { TimersUnavailableError, type TimerFire, type TimerHandler, type TimerService } from './port.js';

/**
 * The in-memory twin of the BullMQ timers, for standalone mode and tests: `setTimeout` based, with
 * the same semantics as the BullMQ adapter:
 *
 * - a deadline is identified by (key, seq); adding it again while it exists is a no-op (the first
 *   due time wins); `move` changes the due time of a pending one (or one waiting for a retry) and
 *   says false for one that is due, firing or absent. Once it has fired (or failed for good) it is
 *   forgotten, so adding it again adds it again, as BullMQ does with completed jobs removed;
 * - `disarm` removes a pending deadline or a pending retry; it is a no-op while the handler runs;
 * - a fire never comes before `dueAt` (a timeout that wakes early is re-armed);
 * - a handler error is logged and the fire retried `attempts - 1` times with exponential back-off;
 * - a due job with no worker waits until a worker starts.
 *
 * Instances that share a {@link MemoryTimerHub} share their jobs, like processes sharing a Redis:
 * a job scheduled through one is fired by whichever instance runs a worker (round robin among
 * workers). The hub clears itself when its last instance closes.
 */
export interface MemoryTimersOptions {
  /** Share jobs with other instances; default: a private hub. */
  hub?: MemoryTimerHub;
  /** Total attempts per fire (first + retries); default 4. */
  attempts?: number;
  /** First retry delay; doubled for each further retry; default 200 ms. */
  backoffMs?: number;
  logger?: Logger;
}

type JobState = 'delayed' | 'waiting' | 'active';

interface MemoryJob {
  readonly id: string;
  readonly fire: TimerFire;
  state: JobState;
  /** Failed attempts so far. */
  attemptsMade: number;
  /** When the next attempt may run (dueAt, then retry times). */
  runAt: number;
  timeout: ReturnType<typeof setTimeout> | undefined;
}

interface HubWorker {
  readonly owner: MemoryTimers;
  readonly handler: TimerHandler;
  readonly running: Set<Promise<void>>;
}

/** Jobs and workers shared by {@link MemoryTimers} instances (one "backend"). */
export class MemoryTimerHub {
  private readonly jobs = new Map<string, MemoryJob>();
  /** Due jobs waiting for a worker, oldest first. */
  private readonly waiting: MemoryJob[] = [];
  private readonly workers: HubWorker[] = [];
  private readonly members = new Set<MemoryTimers>();
  private nextWorker = 0;

  /** Number of jobs not yet fired (pending, waiting for a worker, firing or awaiting a retry). */
  get size(): number {
    return this.jobs.size;
  }

  /** @internal */
  join(member: MemoryTimers): void {
    this.members.add(member);
  }

  /** @internal Leaves the hub; the last member to leave clears every job. */
  leave(member: MemoryTimers): void {
    this.members.delete(member);
    if (this.members.size === 0) {
      this.clear();
    }
  }

  /** Drops every job and timeout (workers stay registered). */
  clear(): void {
    for (const job of this.jobs.values()) {
      clearTimeout(job.timeout);
    }
    this.jobs.clear();
    this.waiting.length = 0;
  }

  /** @internal */
  add(fire: TimerFire, dueAt: number): void {
    const id = deadlineJobId(fire.key, fire.seq);
    if (this.jobs.has(id)) {
      return;
    }
    const job: MemoryJob = { id, fire, state: 'delayed', attemptsMade: 0, runAt: dueAt, timeout: undefined };
    this.jobs.set(id, job);
    this.wake(job);
  }

  /** @internal Moves a pending deadline; false when there is none pending (due, firing, or absent). */
  move(key: string, seq: number, dueAt: number): boolean {
    const job = this.jobs.get(deadlineJobId(key, seq));
    if (job === undefined || job.state !== 'delayed') {
      return false;
    }
    clearTimeout(job.timeout);
    job.runAt = dueAt;
    this.wake(job);
    return true;
  }

  /** @internal */
  disarm(key: string, seq: number): void {
    const job = this.jobs.get(deadlineJobId(key, seq));
    if (!job || job.state === 'active') {
      return;
    }
    clearTimeout(job.timeout);
    this.jobs.delete(job.id);
    const index = this.waiting.indexOf(job);
    if (index >= 0) {
      this.waiting.splice(index, 1);
    }
  }

  /** @internal */
  addWorker(owner: MemoryTimers, handler: TimerHandler): void {
    this.workers.push({ owner, handler, running: new Set() });
    for (const job of this.waiting.splice(0)) {
      this.dispatch(job);
    }
  }

  /** @internal Unregisters the owner's worker; resolves when its fires in progress have finished. */
  async removeWorker(owner: MemoryTimers): Promise<void> {
    const index = this.workers.findIndex((worker) => worker.owner === owner);
    if (index < 0) {
      return;
    }
    const [worker] = this.workers.splice(index, 1);
    await Promise.allSettled([...(worker?.running ?? [])]);
  }

  private wake(job: MemoryJob): void {
    const wait = job.runAt - Date.now();
    if (wait <= 0) {
      job.state = 'waiting';
      job.timeout = undefined;
      this.dispatch(job);
      return;
    }
    job.state = 'delayed';
    // A timeout may wake a millisecond early by the wall clock: wake() runs again and re-arms.
    job.timeout = setTimeout(() => this.wake(job), wait);
  }

  private dispatch(job: MemoryJob): void {
    if (this.jobs.get(job.id) !== job) {
      return;
    }
    const worker = this.pickWorker();
    if (!worker) {
      this.waiting.push(job);
      return;
    }
    job.state = 'active';
    const run = this.run(job, worker);
    worker.running.add(run);
    void run.finally(() => worker.running.delete(run));
  }

  private pickWorker(): HubWorker | undefined {
    if (this.workers.length === 0) {
      return undefined;
    }
    this.nextWorker = (this.nextWorker + 1) % this.workers.length;
    return this.workers[this.nextWorker];
  }

  private async run(job: MemoryJob, worker: HubWorker): Promise<void> {
    try {
      await worker.handler({ ...job.fire });
      if (this.jobs.get(job.id) === job) {
        this.jobs.delete(job.id);
      }
    } catch (error) {
      job.attemptsMade++;
      const retry = worker.owner.retryDelay(job.attemptsMade);
      worker.owner.logHandlerError(error, job.fire, job.attemptsMade, retry !== undefined);
      if (this.jobs.get(job.id) !== job) {
        return; // the hub was cleared meanwhile
      }
      if (retry === undefined) {
        this.jobs.delete(job.id);
        return;
      }
      job.runAt = Date.now() + retry;
      this.wake(job);
    }
  }
}

export function createMemoryTimerHub(): MemoryTimerHub {
  return new MemoryTimerHub();
}

export class MemoryTimers implements TimerService {
  readonly hub: MemoryTimerHub;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly logger: Logger;
  private workerStarted = false;
  private closing: Promise<void> | undefined;

  constructor(options: MemoryTimersOptions = {}) {
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 200;
    if (!Number.isInteger(this.attempts) || this.attempts < 1) {
      throw new RangeError(`attempts: expected an integer >= 1, got ${this.attempts}`);
    }
    if (!Number.isFinite(this.backoffMs) || this.backoffMs < 0) {
      throw new RangeError(`backoffMs: expected a number >= 0, got ${this.backoffMs}`);
    }
    this.logger = options.logger ?? createLogger({ name: 'timers' });
    this.hub = options.hub ?? new MemoryTimerHub();
    this.hub.join(this);
  }

  async add(key: string, seq: number, dueAt: number): Promise<void> {
    checkDeadlineArgs(key, seq, dueAt);
    this.assertOpen();
    this.hub.add(Object.freeze({ key, seq }), Math.ceil(dueAt));
  }

  async move(key: string, seq: number, dueAt: number): Promise<boolean> {
    checkDeadlineArgs(key, seq, dueAt);
    this.assertOpen();
    return this.hub.move(key, seq, Math.ceil(dueAt));
  }

  async disarm(key: string, seq: number): Promise<void> {
    checkDeadlineArgs(key, seq);
    this.assertOpen();
    this.hub.disarm(key, seq);
  }

  async startWorker(handler: TimerHandler): Promise<void> {
    this.assertOpen();
    if (this.workerStarted) {
      throw new Error('timers: the worker is already started');
    }
    this.workerStarted = true;
    this.hub.addWorker(this, handler);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.hub.removeWorker(this);
      this.hub.leave(this);
    })();
    return this.closing;
  }

  /** @internal Delay before the retry that follows `attemptsMade` failures; undefined: give up. */
  retryDelay(attemptsMade: number): number | undefined {
    return attemptsMade < this.attempts ? this.backoffMs * 2 ** (attemptsMade - 1) : undefined;
  }

  /** @internal */
  logHandlerError(error: unknown, fire: TimerFire, attempt: number, willRetry: boolean): void {
    const fields = { err: error, ...fire, attempt, attempts: this.attempts };
    if (willRetry) {
      this.logger.warn(fields, 'timer handler failed; retrying');
    } else {
      this.logger.error(fields, 'timer handler failed; giving up');
    }
  }

  private assertOpen(): void {
    if (this.closing) {
      throw new TimersUnavailableError('timers: the timer service is closed');
    }
  }
}

export function createMemoryTimers(options: MemoryTimersOptions = {}): MemoryTimers {
  return new MemoryTimers(options);
}
