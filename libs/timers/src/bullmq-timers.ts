import {
  OutageLogger,
  createRedisClient,
  isRedisUnavailable,
  type RedisClient as Client,
  type RedisClientOptions,
  type RedisConnection,
  type RedisTarget,
} from '@sipedge/redis';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { Job, Queue, Worker, type KeepJobs, type RedisClient, type WorkerOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { checkDeadlineArgs, deadlineJobId, shardOf } from './job-id.js';
import { TimersUnavailableError, type TimerFire, type TimerHandler, type TimerService } from './port.js';

/**
 * Durable deadlines as BullMQ delayed jobs.
 *
 * - Job id = (key, seq) ({@link deadlineJobId}): a second `add` of an existing job is a no-op
 *   inside BullMQ's add script (the first due time wins). A fired job is removed at once (by
 *   default), so adding the same id after its fire adds it again; the record's seq check makes
 *   such a fire harmless.
 * - `move` is BullMQ's `changeDelay`, which moves a job only while it is in the delayed set
 *   (pending, or waiting for a retry); for one that is due, firing or gone it changes nothing and
 *   `move` resolves false.
 * - `disarm` removes the delayed job (`Queue.remove`); a job that is firing right now is locked and
 *   BullMQ leaves it alone, so a late disarm is a no-op, not an error.
 * - Sharding: `shards` queues with the same name, each under its own hash-tagged prefix
 *   `{<prefix>-<i>}`, so that a Redis Cluster places them on different slots (BullMQ's scripts
 *   need all keys of one queue in one slot). The shard of a key is {@link shardOf}; every process
 *   must use the same `prefix`, `queueName` and `shards`.
 * - Connections: one producer connection for `schedule`/`cancel` with no offline queue, no
 *   per-request retries and a command timeout, so that they fail at once with
 *   {@link TimersUnavailableError} while Redis is unreachable; once `startWorker` ran, one shared
 *   worker connection (`maxRetriesPerRequest: null`, as BullMQ requires) plus one blocking
 *   connection per shard that BullMQ duplicates from it: the `fail-fast` and `blocking` modes of
 *   `@sipedge/redis`'s shared client policy. All reconnect by themselves every `reconnectMaxMs` at
 *   most; errors are logged by its outage logger (throttled during an outage), never thrown.
 * - Delivery is at least once: a handler error is retried with exponential back-off; a worker that
 *   dies mid-fire leaves a locked job that the stalled-job check of another worker re-fires once
 *   the lock has lapsed (`lockDurationMs`, renewed every half of it while the handler runs) plus
 *   up to two checks (`stalledIntervalMs`; a Redis key throttles the check across all workers of
 *   a queue, so every process should use the same value). A job that stalls again and again (a
 *   fire that kills its worker) fails after `MAX_STALLS` stalls, not after the second: a deadline
 *   is not dropped because two workers died in a row.
 * - Redis Cluster (`redis: { cluster: seeds }`): the same connections as ioredis `Cluster`s; each
 *   shard's queue lives in the slot of its hash tag, so `shards` spreads the queues (and their
 *   load) over the masters. See {@link RedisClusterSeeds} for what changes.
 */
export interface BullmqTimersOptions {
  /**
   * `redis://…` URL, a `RedisConnection` (as the store takes: `{ url }`, `{ cluster }` or
   * `{ sentinels, name }`), or ioredis options of one server (no `keyPrefix`: BullMQ refuses it;
   * use `prefix`).
   */
  redis: string | RedisConnection | RedisOptions | RedisClusterSeeds;
  /** BullMQ queue name (no ':'); default `timers`. */
  queueName?: string;
  /** Number of queues the keys are spread over; default 1. */
  shards?: number;
  /** Key prefix; shard i uses `{<prefix>-<i>}` (a Redis Cluster hash tag). Default `sipedge-timers`. */
  prefix?: string;
  logger?: Logger;
  /** Concurrent handler calls per shard worker; default 50 (the handler is I/O bound). */
  concurrency?: number;
  /** Total attempts per fire (first + retries); default 4. */
  attempts?: number;
  /** First retry delay, doubled for each further retry (BullMQ exponential back-off); default 200 ms. */
  backoffMs?: number;
  /** Fired jobs to keep (BullMQ `removeOnComplete` of the worker); default none (`{ count: 0 }`). */
  keepFired?: KeepJobs;
  /** Jobs whose attempts all failed to keep, for inspection; default 1000 for a day. */
  keepFailed?: KeepJobs;
  /** Producer command timeout: a silent network makes `schedule`/`cancel` fail after it; default 2000 ms. */
  commandTimeoutMs?: number;
  /** How long `schedule`/`cancel`/`startWorker` wait for the very first connection; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect interval (used unless `redis.retryStrategy` is given); default 1000 ms. */
  reconnectMaxMs?: number;
  /** Lock of a firing job; a dead worker's fires are retaken after it expires; default 4000 ms. */
  lockDurationMs?: number;
  /** How often each worker looks for jobs whose lock expired; default 1000 ms. */
  stalledIntervalMs?: number;
  /** Longest idle block of a worker on an empty queue (BullMQ `drainDelay`, seconds); default 5. */
  drainDelaySeconds?: number;
  /** `close` waits this long for fires in progress (then leaves them to other workers); default 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Precise wake-up window (see {@link TimerWorker}): a worker whose next delayed job is due within
   * this many ms sleeps locally until it is due instead of blocking in Redis, whose blocking
   * timeouts are only resolved every `1000 / hz` ms (100 ms with Redis' default `hz 10`). Keep it
   * above that period; 0 turns it off. Default 200 ms.
   */
  localWaitMs?: number;
}

/**
 * Seed nodes of a Redis Cluster (any reachable node; ioredis discovers the others with
 * `CLUSTER SLOTS` and follows `MOVED`/`ASK`). Every connection of the adapter is then an ioredis
 * `Cluster`, which BullMQ takes as it is (its blocking connections are `Cluster` duplicates, and
 * its version check reads `INFO` from one node). What changes:
 *
 * - The cluster-level offline queue stays on, for the producer too: ioredis sends its own ready
 *   check (`CLUSTER INFO`) before the cluster is ready, and without the queue that check fails
 *   while the node connections come up, so the client never gets ready. Fail-fast comes from
 *   elsewhere: `schedule`/`cancel` refuse at once unless the client is ready, node connections
 *   have no per-request retries, the producer does not retry a command after a closed node
 *   connection or `CLUSTERDOWN` (`retryDelayOnFailover`/`retryDelayOnClusterDown` 0: a retry would
 *   wait in that offline queue and run after the caller was told it failed), and
 *   `commandTimeoutMs` bounds the rest.
 * - While one master is lost (and no replica promoted), the client stays ready for the others:
 *   `schedule`/`cancel` of keys whose shard lives on the lost master fail with
 *   {@link TimersUnavailableError}; the other shards keep working, until the cluster reports
 *   `CLUSTERDOWN` (by default once a master has been unreachable for `cluster-node-timeout`).
 * - Reconnection after losing every node follows `reconnectMaxMs` (`clusterRetryStrategy`).
 * - The precise wake-up ({@link TimerWorker}) works unchanged: it only shortens the blocking
 *   timeout, whichever connection carries the `BZPOPMIN`.
 * - No per-node ioredis options (password, TLS) yet, as in `@sipedge/store`.
 */
export interface RedisClusterSeeds {
  cluster: { host: string; port: number }[];
}

/** What a job carries (its `data`). */
export interface TimerJobData {
  key: string;
  seq: number;
}

/** BullMQ's changeDelay on a job that is not in the delayed set, or that does not exist. */
const NOT_PENDING = /^(?:Missing key for job|Job .* is not in the delayed state)/;

/** Stalls (its worker died while firing it) after which a job fails for good. */
const MAX_STALLS = 10;

/** The `redis` option as a target of the shared client factory. */
function targetOf(redis: BullmqTimersOptions['redis']): RedisTarget {
  if (typeof redis === 'string') {
    return { url: redis };
  }
  if ('keyPrefix' in redis && redis.keyPrefix) {
    throw new RangeError('redis.keyPrefix is not supported by BullMQ: use the prefix option');
  }
  return redis;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name}: expected an integer >= 1, got ${value}`);
  }
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name}: expected a number > 0, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name}: expected a number >= 0, got ${value}`);
  }
  return value;
}

/** Resolves true if `promise` settled within `ms`, false otherwise (never rejects). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A BullMQ worker that wakes up on time for delayed jobs.
 *
 * BullMQ's worker waits for the next delayed job with `BZPOPMIN marker <timeout>`. A new job (or
 * an earlier one) wakes it at once through the marker, but a timeout is only noticed by Redis on
 * its next `serverCron` tick (`hz`, 10 per second by default), so delayed jobs fired 0–100 ms late
 * (measured: p50 ≈ 50 ms). This subclass overrides two protected hooks of BullMQ's `Worker`:
 *
 * - `getBlockTimeout`: a delayed job due within `localWaitMs` → no blocking call (0) and a note of
 *   its due time; one due later → block until `localWaitMs` before it (Redis may wake us up to one
 *   tick late, still before the job is due);
 * - `moveToActive` (called right after): sleeps locally until the noted due time first.
 *
 * The cost: while it sleeps (at most `localWaitMs`), this worker does not see jobs added with an
 * even earlier due time (only a job scheduled less than `localWaitMs` ahead can be one); they fire
 * when the sleep ends, or earlier on another worker. No extra Redis commands: a local sleep
 * replaces the tail of a blocking call.
 *
 * Protected hooks are no public API: `test/timer-worker-hooks.test.ts` pins what this class relies
 * on (names, arguments, units, and that BullMQ's fetch loop calls them), so that a BullMQ upgrade
 * that changes them fails there. Exported for that test only (not from the package's index).
 */
export class TimerWorker extends Worker<TimerJobData> {
  #wakeAt = 0;
  readonly #localWaitMs: number;

  constructor(
    name: string,
    processor: (job: Job<TimerJobData>) => Promise<void>,
    options: WorkerOptions,
    localWaitMs: number,
  ) {
    // Not autorun: run() must not start before the fields above are initialised.
    super(name, processor, { ...options, autorun: false });
    this.#localWaitMs = localWaitMs;
  }

  protected override getBlockTimeout(blockUntil: number): number {
    if (this.#localWaitMs > 0 && blockUntil > 0) {
      const remaining = blockUntil - Date.now();
      if (remaining > 0 && remaining <= this.#localWaitMs) {
        this.#wakeAt = blockUntil;
        return 0;
      }
      if (remaining > this.#localWaitMs) {
        return super.getBlockTimeout(blockUntil - this.#localWaitMs);
      }
    }
    return super.getBlockTimeout(blockUntil);
  }

  protected override async moveToActive(client: RedisClient, token: string, name?: string): Promise<Job<TimerJobData>> {
    const wakeAt = this.#wakeAt;
    if (wakeAt > 0) {
      this.#wakeAt = 0;
      const wait = wakeAt - Date.now();
      if (wait > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (this.closing || this.paused) {
        return undefined as unknown as Job<TimerJobData>; // BullMQ's "no job" (typed as a Job)
      }
    }
    return super.moveToActive(client, token, name);
  }
}

export class BullmqTimers implements TimerService {
  readonly queueName: string;
  /** Prefix of each shard's queue, `{<prefix>-<i>}`. */
  readonly shardPrefixes: readonly string[];

  private readonly logger: Logger;
  private readonly producer: Client;
  private readonly queues: Queue<TimerJobData>[];
  private readonly workers: TimerWorker[] = [];
  /** Handler calls in progress in this process. */
  private readonly inFlight = new Set<Promise<void>>();
  private workerClient: Client | undefined;
  private readonly firstReady: Promise<void>;
  private everReady = false;
  private closing: Promise<void> | undefined;
  private readonly outage: OutageLogger;

  private readonly connect: (options: RedisClientOptions) => Client;
  private readonly settings: {
    concurrency: number;
    attempts: number;
    backoffMs: number;
    keepFired: KeepJobs;
    keepFailed: KeepJobs;
    connectTimeoutMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    drainDelaySeconds: number;
    closeTimeoutMs: number;
    localWaitMs: number;
  };

  constructor(options: BullmqTimersOptions) {
    const shards = positiveInteger('shards', options.shards ?? 1);
    const prefix = options.prefix ?? 'sipedge-timers';
    this.queueName = options.queueName ?? 'timers';
    if (!prefix || /[{}:]/.test(prefix)) {
      throw new RangeError(`prefix: expected a non-empty string without '{', '}' or ':', got "${prefix}"`);
    }
    if (!this.queueName || /[{}:]/.test(this.queueName)) {
      throw new RangeError(`queueName: expected a non-empty string without '{', '}' or ':', got "${this.queueName}"`);
    }
    this.settings = {
      concurrency: positiveInteger('concurrency', options.concurrency ?? 50),
      attempts: positiveInteger('attempts', options.attempts ?? 4),
      backoffMs: nonNegative('backoffMs', options.backoffMs ?? 200),
      keepFired: options.keepFired ?? { count: 0 },
      keepFailed: options.keepFailed ?? { age: 24 * 3600, count: 1000 },
      connectTimeoutMs: nonNegative('connectTimeoutMs', options.connectTimeoutMs ?? 2000),
      lockDurationMs: positiveInteger('lockDurationMs', options.lockDurationMs ?? 4000),
      stalledIntervalMs: positiveInteger('stalledIntervalMs', options.stalledIntervalMs ?? 1000),
      drainDelaySeconds: positive('drainDelaySeconds', options.drainDelaySeconds ?? 5),
      closeTimeoutMs: nonNegative('closeTimeoutMs', options.closeTimeoutMs ?? 5000),
      localWaitMs: nonNegative('localWaitMs', options.localWaitMs ?? 200),
    };
    this.logger = options.logger ?? createLogger({ name: 'timers' });
    this.shardPrefixes = Array.from({ length: shards }, (_, i) => `{${prefix}-${i}}`);

    this.outage = new OutageLogger({ logger: this.logger, subject: 'timers', fields: { queue: this.queueName } });
    const target = targetOf(options.redis);
    const reconnectMaxMs = positive('reconnectMaxMs', options.reconnectMaxMs ?? 1000);
    // `reconnectMaxMs` bounds the back-off unless the user's ioredis options bring a retryStrategy.
    this.connect = (client) => createRedisClient(target, { ...client, reconnectMaxMs });
    // Fail fast: no queueing while disconnected, in-flight commands rejected on disconnect, no
    // Cluster retry that could run after the caller was told the command failed, and a bound on a
    // command that gets no answer.
    this.producer = this.connect({
      mode: 'fail-fast',
      connectionName: `${prefix}:producer`,
      commandTimeoutMs: nonNegative('commandTimeoutMs', options.commandTimeoutMs ?? 2000),
    });
    this.firstReady = new Promise((resolve) => this.producer.once('ready', () => resolve()));
    this.producer.on('ready', () => {
      this.everReady = true;
    });
    this.watch(this.producer, 'producer');

    this.queues = this.shardPrefixes.map((shardPrefix) => {
      const queue = new Queue<TimerJobData>(this.queueName, {
        connection: this.producer,
        prefix: shardPrefix,
        // Nothing reads the events stream: keep it short.
        streams: { events: { maxLen: 1000 } },
      });
      queue.on('error', (error) => this.onError('queue', error));
      return queue;
    });
  }

  /** The shard (queue index) of a key. */
  shardOf(key: string): number {
    return shardOf(key, this.queues.length);
  }

  async add(key: string, seq: number, dueAt: number): Promise<void> {
    checkDeadlineArgs(key, seq, dueAt);
    const queue = await this.writableQueue(key);
    const now = Date.now();
    try {
      // `timestamp` pins BullMQ's due time (timestamp + delay) to exactly `dueAt`.
      await queue.add(
        'deadline',
        { key, seq },
        {
          jobId: deadlineJobId(key, seq),
          delay: Math.max(0, Math.ceil(dueAt) - now),
          timestamp: now,
          attempts: this.settings.attempts,
          backoff: { type: 'exponential', delay: this.settings.backoffMs },
        },
      );
    } catch (error) {
      throw this.translate(error, 'add');
    }
  }

  async move(key: string, seq: number, dueAt: number): Promise<boolean> {
    checkDeadlineArgs(key, seq, dueAt);
    const queue = await this.writableQueue(key);
    // changeDelay needs only the id: no read of the job first.
    const job = new Job<TimerJobData>(queue, 'deadline', { key, seq }, {}, deadlineJobId(key, seq));
    try {
      await job.changeDelay(Math.max(0, Math.ceil(dueAt) - Date.now()));
      return true;
    } catch (error) {
      if (error instanceof Error && NOT_PENDING.test(error.message)) {
        return false;
      }
      throw this.translate(error, 'move');
    }
  }

  async disarm(key: string, seq: number): Promise<void> {
    checkDeadlineArgs(key, seq);
    const queue = await this.writableQueue(key);
    try {
      // 1: removed (or never existed); 0: locked by a worker that is firing it (too late).
      await queue.remove(deadlineJobId(key, seq), { removeChildren: false });
    } catch (error) {
      throw this.translate(error, 'disarm');
    }
  }

  /**
   * Starts one BullMQ worker per shard. Resolves once they are connected, or after
   * `connectTimeoutMs` if Redis is unreachable (they keep trying and start firing when it returns).
   */
  async startWorker(handler: TimerHandler): Promise<void> {
    this.assertOpen();
    if (this.workerClient) {
      throw new Error('timers: the worker is already started');
    }
    // No command timeout: it would break the blocking BZPOPMIN of the duplicated connections.
    const client = this.connect({ mode: 'blocking', connectionName: `${this.shardPrefixes[0]}:worker` });
    this.workerClient = client;
    this.watch(client, 'worker');
    const processor = (job: Job<TimerJobData>) => this.fire(job, handler);
    for (const prefix of this.shardPrefixes) {
      const options: WorkerOptions = {
        connection: client,
        prefix,
        concurrency: this.settings.concurrency,
        drainDelay: this.settings.drainDelaySeconds,
        lockDuration: this.settings.lockDurationMs,
        stalledInterval: this.settings.stalledIntervalMs,
        maxStalledCount: MAX_STALLS,
        // BullMQ waits this long before retrying a failed fetch (default 15 s): recover faster.
        runRetryDelay: 1000,
        removeOnComplete: this.settings.keepFired,
        removeOnFail: this.settings.keepFailed,
      };
      const worker = new TimerWorker(this.queueName, processor, options, this.settings.localWaitMs);
      worker.on('error', (error) => this.onError('worker', error));
      // run() resolves when the worker closes; its failures are also emitted as 'error'.
      worker.run().catch((error: unknown) => this.onError('worker', error));
      this.workers.push(worker);
    }
    const ready = Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
    if (!(await settlesWithin(ready, this.settings.connectTimeoutMs))) {
      ready.catch(() => undefined);
      this.logger.warn(
        { queue: this.queueName, shards: this.queues.length },
        'timer workers started while Redis is unreachable; they fire once it is back',
      );
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Stops taking fires, gives the fires in progress `closeTimeoutMs` to finish, then closes.
   *
   * BullMQ's graceful close waits for every fire in progress and for its blocking connection to
   * end, which never happens while Redis is down or a handler hangs; `close(true)` does not wait,
   * and is used then. A fire cut short keeps its lock until it expires; another worker's
   * stalled-job check then fires it again (at least once).
   */
  private async shutdown(): Promise<void> {
    const workerClient = this.workerClient;
    await Promise.all(this.workers.map((worker) => worker.pause(true)));
    const drained = await settlesWithin(Promise.allSettled([...this.inFlight]), this.settings.closeTimeoutMs);
    if (!drained) {
      this.logger.warn(
        { queue: this.queueName, inFlight: this.inFlight.size },
        'timers: fires still in progress at close; they will be fired again elsewhere',
      );
    }
    const force = !drained || (workerClient !== undefined && workerClient.status !== 'ready');
    const closed = (async () => {
      await Promise.all(this.workers.map((worker) => worker.close(force)));
      await Promise.all(this.queues.map((queue) => queue.close()));
    })();
    closed.catch((error: unknown) => this.onError('close', error));
    if (!(await settlesWithin(closed, this.settings.closeTimeoutMs))) {
      // Redis went away during the close: dropping the connections rejects what waits on them.
      this.logger.warn({ queue: this.queueName }, 'timers: close timed out; disconnecting');
      workerClient?.disconnect();
      this.producer.disconnect();
      await settlesWithin(closed, 1000);
    }
    await Promise.all([this.producer, this.workerClient].map((client) => client && this.quit(client)));
  }

  private async quit(client: Client): Promise<void> {
    if (client.status === 'ready') {
      try {
        await client.quit();
        return;
      } catch {
        // disconnect below
      }
    }
    client.disconnect();
  }

  private async fire(job: Job<TimerJobData>, handler: TimerHandler): Promise<void> {
    const { key, seq } = job.data;
    const fire: TimerFire = { key, seq };
    const running = (async () => handler(fire))();
    this.inFlight.add(running);
    try {
      await running;
    } catch (error) {
      const attempts = job.opts.attempts ?? 1;
      const attempt = job.attemptsMade + 1;
      const fields = { err: error, ...fire, attempt, attempts };
      if (attempt < attempts) {
        this.logger.warn(fields, 'timer handler failed; retrying');
      } else {
        this.logger.error(fields, 'timer handler failed; giving up');
      }
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      this.inFlight.delete(running);
    }
  }

  private async writableQueue(key: string): Promise<Queue<TimerJobData>> {
    this.assertOpen();
    if (!this.producerReady() && !(await this.awaitFirstConnection())) {
      throw new TimersUnavailableError(`timers: Redis is unreachable (connection ${this.producer.status})`);
    }
    const queue = this.queues[this.shardOf(key)];
    if (!queue) {
      throw new Error('timers: no queue for shard'); // unreachable
    }
    return queue;
  }

  private producerReady(): boolean {
    return this.producer.status === 'ready';
  }

  /** Before the first connection only (start-up), waits up to `connectTimeoutMs` for it. */
  private async awaitFirstConnection(): Promise<boolean> {
    if (this.everReady) {
      return false;
    }
    await settlesWithin(this.firstReady, this.settings.connectTimeoutMs);
    return this.producerReady();
  }

  private translate(error: unknown, operation: string): Error {
    if (this.closing) {
      return new TimersUnavailableError(`timers: ${operation} failed: the timer service is closed`, { cause: error });
    }
    if (isRedisUnavailable(error) || !this.producerReady()) {
      return new TimersUnavailableError(`timers: ${operation} failed: Redis is unreachable`, { cause: error });
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  private assertOpen(): void {
    if (this.closing) {
      throw new TimersUnavailableError('timers: the timer service is closed');
    }
  }

  private watch(client: Client, role: string): void {
    client.on('error', (error: unknown) => this.onError(role, error));
    client.on('ready', () => this.outage.recovered({ role }));
  }

  /**
   * Logs an error event through the outage logger: Redis being unavailable at most once per 10 s
   * while an outage lasts (and not at all once closing), anything else at error level.
   */
  private onError(source: string, error: unknown): void {
    if (this.closing && isRedisUnavailable(error)) {
      return;
    }
    this.outage.error(error, { source });
  }
}

export function createBullmqTimers(options: BullmqTimersOptions): BullmqTimers {
  return new BullmqTimers(options);
}
