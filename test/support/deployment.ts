/**
 * sipedge as users run it, for end-to-end tests: every node a separate process started from the
 * `sipedge` executable.
 *
 * - standalone: one `sipedge all` process on the in-memory adapters;
 * - distributed: Redis and NATS from Testcontainers, two `sipedge edge` processes sharing one
 *   address (edge-fleet.ts, as pods behind a Service) and two `sipedge worker` processes.
 *
 * Either way clients reach the proxy at 127.0.0.1:<port> over UDP and TCP.
 */
import { startNats, startRedis, type StartedNats, type StartedRedis } from './containers.js';
import { freePort } from './free-port.js';
import { type ManagedProcess, nodeCommand, nodeScript, roleCommand, startProcess } from './processes.js';

export type Mode = 'standalone' | 'distributed';

export interface Deployment {
  mode: Mode;
  /** `127.0.0.1:<port>`, where clients send. */
  target: string;
  port: number;
  /** `http://127.0.0.1:<port>`: an edge's ops port (`/healthz`, `/metrics`, the admin API). */
  opsUrl: string;
  /** Redis (distributed mode only). */
  redisUrl?: string;
  /** The sipedge processes running now (standalone: the one `sipedge all`), to watch their output and liveness. */
  processes(): ManagedProcess[];
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  /** Settings every sipedge process gets (environment variables). */
  env?: NodeJS.ProcessEnv;
  /**
   * Standalone: an address of this host the proxy also listens on (same port) and advertises,
   * for clients that cannot reach its loopback (a phone in a network namespace).
   */
  publicAddress?: string;
  /** Also listen on [::1] at the same port and advertise it to IPv6 peers (SIPEDGE_ADVERTISED_IPV6). */
  ipv6?: boolean;
  /**
   * Distributed: the Redis settings of a Redis the test runs itself (e.g. REDIS_CLUSTER), instead
   * of a Redis container of the deployment's own.
   */
  redisEnv?: NodeJS.ProcessEnv;
}

export async function startDeployment(mode: Mode, options: DeploymentOptions = {}): Promise<Deployment> {
  return mode === 'standalone' ? startStandalone(options) : Distributed.start(options);
}

/**
 * The listen, advertised and ops settings of a proxy at 127.0.0.1:<port> (and `publicAddress`:<port>,
 * and [::1]:<port> with `ipv6`).
 */
async function addressing(port: number, { publicAddress, ipv6 }: DeploymentOptions): Promise<NodeJS.ProcessEnv> {
  const addresses = ['127.0.0.1', ...(publicAddress === undefined ? [] : [publicAddress]), ...(ipv6 ? ['[::1]'] : [])];
  const listen = addresses.map((a) => `${a}:${port}`).join(',');
  return {
    SIPEDGE_UDP: listen,
    SIPEDGE_TCP: listen,
    SIPEDGE_ADVERTISED: `${publicAddress ?? '127.0.0.1'}:${port}`,
    ...(ipv6 ? { SIPEDGE_ADVERTISED_IPV6: '::1' } : {}),
    SIPEDGE_HTTP: `127.0.0.1:${await freePort()}`,
  };
}

async function startStandalone(options: DeploymentOptions): Promise<Deployment> {
  const port = await freePort();
  const env = { ...(await addressing(port, options)), ...options.env };
  const all = await startProcess('sipedge all', roleCommand('all'), env, 'sipedge standalone: ready');
  return {
    mode: 'standalone',
    target: `127.0.0.1:${port}`,
    port,
    opsUrl: `http://${env['SIPEDGE_HTTP']}`,
    processes: () => [all],
    stop: () => all.stop(),
  };
}

/** The edges of a distributed deployment, as the fleet reports them. */
interface EdgeEvent {
  edge?: string;
  pid?: number;
  ready?: boolean;
  exited?: string | number;
}

export class Distributed implements Deployment {
  readonly mode = 'distributed';
  readonly workers: ManagedProcess[] = [];
  private fleet!: ManagedProcess;
  private redis: StartedRedis | undefined;
  private nats!: StartedNats;
  private env: NodeJS.ProcessEnv = {};
  private workersStarted = 0;
  /** Each worker's ops server (`/metrics`), `http://127.0.0.1:<port>`. */
  private readonly workerOps = new Map<ManagedProcess, string>();

  private constructor(readonly port: number) {}

  static async start(options: DeploymentOptions, workers = 2): Promise<Distributed> {
    const d = new Distributed(await freePort());
    [d.redis, d.nats] = await Promise.all([
      options.redisEnv === undefined ? startRedis() : Promise.resolve(undefined),
      startNats(),
    ]);
    d.env = {
      ...(await addressing(d.port, options)),
      NATS_URL: d.nats.url,
      ...(d.redis === undefined ? options.redisEnv : { REDIS_URL: d.redis.url }),
      SIPEDGE_FLEET_SECRET: 'e2e-fleet-secret-e2e-fleet-secret-e2e-fleet',
      ...options.env,
    };
    d.fleet = await startProcess(
      'edge fleet',
      nodeCommand(nodeScript('test/support/edge-fleet.ts')),
      { ...d.env, FLEET_SIZE: '2' },
      '{"fleet":"ready"}',
      60_000,
    );
    for (let i = 0; i < workers; i++) await d.startWorker();
    return d;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  get redisUrl(): string {
    if (this.redis === undefined) throw new Error('this deployment runs on a Redis of the test (redisEnv)');
    return this.redis.url;
  }

  /** The edges share one ops port, as they share the SIP address. */
  get opsUrl(): string {
    return `http://${this.env['SIPEDGE_HTTP']}`;
  }

  processes(): ManagedProcess[] {
    return [this.fleet, ...this.workers];
  }

  /** Starts one more worker process. */
  async startWorker(): Promise<ManagedProcess> {
    const id = `worker-${++this.workersStarted}`;
    const ops = `127.0.0.1:${await freePort()}`;
    const worker = await startProcess(
      id,
      roleCommand('worker'),
      { ...this.env, SIPEDGE_WORKER_ID: id, SIPEDGE_WORKER_HTTP: ops },
      'worker started',
    );
    this.workers.push(worker);
    this.workerOps.set(worker, `http://${ops}`);
    return worker;
  }

  /** `http://127.0.0.1:<port>`: a worker's ops server (`/healthz`, `/metrics`). */
  workerOpsUrl(worker: ManagedProcess): string {
    const url = this.workerOps.get(worker);
    if (url === undefined) throw new Error('not a worker of this deployment');
    return url;
  }

  /** SIGKILLs a worker process (no clean-up at all) and forgets it. */
  async killWorker(worker: ManagedProcess): Promise<void> {
    await worker.kill();
    this.workers.splice(this.workers.indexOf(worker), 1);
    this.workerOps.delete(worker);
  }

  /** The edges that listen now (the fleet's latest events), by id. */
  liveEdges(): Map<string, number> {
    const live = new Map<string, number>();
    for (const line of this.fleet.output().split('\n')) {
      if (!line.startsWith('{"edge"')) continue;
      const event = JSON.parse(line) as EdgeEvent;
      if (event.ready === true) live.set(event.edge!, event.pid!);
      if (event.exited !== undefined) live.delete(event.edge!);
    }
    return live;
  }

  /** SIGKILLs an edge; the fleet starts a new one in its place. Resolves once the new one listens. */
  async killEdge(id: string, timeoutMs = 30_000): Promise<string> {
    const pid = this.liveEdges().get(id);
    if (pid === undefined) throw new Error(`no live edge ${id}`);
    const before = new Set(this.liveEdges().keys());
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fresh = [...this.liveEdges().keys()].find((e) => !before.has(e));
      if (fresh !== undefined) return fresh;
      if (Date.now() > deadline) throw new Error(`no edge replaced ${id} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    await this.fleet?.stop();
    await Promise.all([this.redis?.container.stop(), this.nats?.container.stop()]);
  }
}
