/**
 * The systems a benchmark run compares, each started on loopback and stopped after its steps:
 * SIPp's callee reached directly (the rig's own limit), Kamailio as a transaction-stateful proxy,
 * sipedge standalone, and sipedge distributed (one edge, one or two workers, Redis and NATS as
 * local processes).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.js';
import { kamailioModules, startKamailio as startKamailioProcess } from '../../test/support/kamailio.js';
import { type Command, type ManagedProcess, root, startProcess } from '../../test/support/processes.js';
import { sipAnswers } from './probe.js';
import type { BenchTransport } from './sipp.js';

export const SYSTEM_NAMES = ['direct', 'kamailio', 'standalone', 'distributed-1w', 'distributed-2w'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export const SYSTEM_LABELS: Record<SystemName, string> = {
  direct: 'SIPp → SIPp (rig limit)',
  kamailio: 'Kamailio (tm, stateful)',
  standalone: 'sipedge standalone',
  'distributed-1w': 'sipedge 1 edge + 1 worker',
  'distributed-2w': 'sipedge 1 edge + 2 workers',
};

/** A process whose CPU time is measured, with its descendants. */
export interface MeasuredProcess {
  name: string;
  pid: number;
}

export interface RunningSystem {
  name: SystemName;
  /** host:port SIPp's caller sends to; none for `direct`, whose caller sends to each step's callee. */
  target?: string;
  processes: MeasuredProcess[];
  redisUrl?: string;
  natsMonitorUrl?: string;
  /** Workers' Prometheus endpoints (timer lateness). */
  workerMetricsUrls: string[];
  /** What runs the RFC 3261 timers, when the system is sipedge. */
  timers?: 'BullMQ' | 'in-memory';
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Kamailio's UDP worker processes (`children`), and its TCP ones over TCP (`tcp_children`). */
  kamailioChildren: number;
  /** What the steps' calls travel over: Kamailio listens on TCP as well for `tcp`. */
  transport: BenchTransport;
  /** Node's --cpu-prof for sipedge processes, profiles written to this directory on exit. */
  profileDir?: string;
}

export function kamailioInstalled(): boolean {
  return kamailioModules() !== undefined && commandExists('kamailio');
}

export function commandExists(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startSystem(name: SystemName, options: SystemOptions): Promise<RunningSystem> {
  switch (name) {
    case 'direct':
      return { name, processes: [], workerMetricsUrls: [], stop: async () => {} };
    case 'kamailio':
      return startKamailio(options);
    case 'standalone':
      return startStandalone(options);
    case 'distributed-1w':
      return startDistributed({ ...options, name, workers: 1 });
    case 'distributed-2w':
      return startDistributed({ ...options, name, workers: 2 });
  }
}

/** Stops processes last-started first. */
function stopAll(processes: ManagedProcess[]): () => Promise<void> {
  return async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
}

const measured = (name: string, p: ManagedProcess): MeasuredProcess => ({ name, pid: p.child.pid! });

/** Kamailio's TCP settings for a run over TCP: a listener beside the UDP one, as many TCP workers. */
const KAMAILIO_TCP = ['listen=tcp:127.0.0.1:{{port}}', 'tcp_children={{children}}'].join('\n');

async function startKamailio(options: SystemOptions): Promise<RunningSystem> {
  const port = await freePort();
  const config = readFileSync(new URL('./kamailio/kamailio.cfg', import.meta.url), 'utf8')
    .replaceAll('{{tcp}}', options.transport === 'tcp' ? KAMAILIO_TCP : 'disable_tcp=yes')
    .replaceAll('{{port}}', String(port))
    .replaceAll('{{children}}', String(options.kamailioChildren));
  // -x tlsf: the TLSF memory manager; -m 1024: shared memory enough for its transactions at 2,000
  // calls/s and more (with 256 MB it answers "500 No error (2/SL)" there: the reference would be a
  // configuration's limit, not its own).
  const kamailio = await startKamailioProcess(config, ['-x', 'tlsf', '-m', '1024', '-M', '16']);
  const target = `127.0.0.1:${port}`;
  try {
    await sipAnswers(target, 15_000);
  } catch (error) {
    await kamailio.stop();
    throw new Error(`Kamailio did not answer at ${target}: ${String(error)}\n${kamailio.output()}`);
  }
  return {
    name: 'kamailio',
    target,
    processes: [measured('kamailio', kamailio)],
    workerMetricsUrls: [],
    stop: stopAll([kamailio]),
  };
}

/**
 * Settings of every sipedge process: no telemetry export, Record-Route on, overload control as by
 * default (100 ms: services/edge/README.md). The log level stays `info`, which logs life-cycle
 * events only (the readiness lines this waits for), none per message.
 */
const SIPEDGE_ENV: NodeJS.ProcessEnv = {
  LOG_LEVEL: 'info',
  OTEL_SDK_DISABLED: 'true',
  SIPEDGE_RECORD_ROUTE: 'true',
  SIPEDGE_FLEET_SECRET: 'bench-fleet-secret-bench-fleet-secret-0001',
};

async function sipAddressing(): Promise<{ port: number; env: NodeJS.ProcessEnv }> {
  const port = await freePort();
  return {
    port,
    env: {
      SIPEDGE_UDP: `127.0.0.1:${port}`,
      SIPEDGE_TCP: `127.0.0.1:${port}`,
      SIPEDGE_ADVERTISED: `127.0.0.1:${port}`,
      SIPEDGE_HTTP: `127.0.0.1:${await freePort()}`,
    },
  };
}

/**
 * sipedge as it ships (deploy/Dockerfile: `node services/sipedge/dist/main.js`), compiled first
 * (`buildSipedge`). Not from the sources through tsx as
 * `npm start` runs it: esbuild's transform names every closure at run time (its `__name` helper),
 * which cost about 4% more CPU per call (docs/performance.md).
 */
function sipedgeCommand(role: 'all' | 'edge' | 'worker', options: { profileDir?: string }): Command {
  const command = { file: process.execPath, args: [`${root}services/sipedge/dist/main.js`, role] };
  if (options.profileDir === undefined) return command;
  return { ...command, args: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, ...command.args] };
}

let built: Promise<void> | undefined;

/**
 * Compiles sipedge and the libraries it references once per benchmark process (about 10 s).
 * Forced: an incremental build trusts its `.tsbuildinfo` and would not write again an output file
 * deleted since, which sipedge would then fail to import.
 */
export function buildSipedge(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const tsc = `${root}node_modules/typescript/bin/tsc`;
    execFile(process.execPath, [tsc, '-b', '--force', 'services/sipedge'], { cwd: root }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tsc -b --force services/sipedge failed: ${stdout}${stderr}`, { cause: error }));
      else resolve();
    });
  });
  return built;
}

async function startStandalone(options: SystemOptions): Promise<RunningSystem> {
  await buildSipedge();
  const { port, env } = await sipAddressing();
  const metrics = `127.0.0.1:${await freePort()}`;
  const all = await startProcess(
    'sipedge all',
    sipedgeCommand('all', options),
    { ...SIPEDGE_ENV, ...env, SIPEDGE_WORKER_HTTP: metrics },
    'sipedge standalone: ready',
  );
  return {
    name: 'standalone',
    target: `127.0.0.1:${port}`,
    processes: [measured('sipedge', all)],
    workerMetricsUrls: [`http://${metrics}/metrics`],
    timers: 'in-memory',
    stop: stopAll([all]),
  };
}

/** A distributed deployment as the benchmark starts it, and what the settings of it may add. */
export interface DistributedOptions {
  name: SystemName;
  /** Workers started with it: `worker-1` … `worker-<n>`. */
  workers: number;
  /** Settings added to every sipedge process's (after the benchmark's own). */
  env?: NodeJS.ProcessEnv;
  /** Node's --cpu-prof for sipedge processes, profiles written to this directory on exit. */
  profileDir?: string;
}

/** A running distributed system whose set of workers can change: one more started, one SIGKILLed. */
export interface DistributedSystem extends RunningSystem {
  target: string;
  /** Starts the next worker (`worker-<n>`); resolves with its id once it says it started. */
  startWorker(): Promise<string>;
  /** SIGKILLs a worker (no clean-up at all) and drops it from the processes measured; resolves once it exited. */
  killWorker(id: string): Promise<void>;
}

/** redis-server and nats-server -js on loopback, then the workers, then one edge (`edge-1`). */
export async function startDistributed(options: DistributedOptions): Promise<DistributedSystem> {
  await buildSipedge();
  const started: ManagedProcess[] = [];
  try {
    const redisPort = await freePort();
    const redis = await startProcess(
      'redis',
      {
        file: 'redis-server',
        args: ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      },
      {},
      'Ready to accept connections',
    );
    started.push(redis);
    const [natsPort, monitorPort] = [await freePort(), await freePort()];
    const nats = await startProcess(
      'nats',
      {
        file: 'nats-server',
        args: [
          '-js',
          '-a',
          '127.0.0.1',
          '-p',
          String(natsPort),
          '-m',
          String(monitorPort),
          '-sd',
          mkdtempSync(join(tmpdir(), 'sipedge-bench-nats-')),
        ],
      },
      {},
      'Server is ready',
    );
    started.push(nats);
    const { port, env } = await sipAddressing();
    const shared = {
      ...SIPEDGE_ENV,
      ...env,
      ...options.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
    };
    const metricsUrls: string[] = [];
    const processes = [measured('redis', redis), measured('nats', nats)];
    const workers = new Map<string, { process: ManagedProcess; metricsUrl: string }>();
    const startWorker = async () => {
      const id = `worker-${workers.size + 1}`;
      const metrics = `127.0.0.1:${await freePort()}`;
      const worker = await startProcess(
        id,
        sipedgeCommand('worker', options),
        { ...shared, SIPEDGE_WORKER_ID: id, SIPEDGE_WORKER_HTTP: metrics },
        'worker started',
      );
      started.push(worker);
      processes.push(measured(id, worker));
      metricsUrls.push(`http://${metrics}/metrics`);
      workers.set(id, { process: worker, metricsUrl: `http://${metrics}/metrics` });
      return id;
    };
    const killWorker = async (id: string) => {
      const worker = workers.get(id);
      if (worker === undefined) throw new Error(`no worker ${id}`);
      await worker.process.kill();
      processes.splice(
        processes.findIndex((p) => p.name === id),
        1,
      );
      metricsUrls.splice(metricsUrls.indexOf(worker.metricsUrl), 1);
    };
    for (let i = 1; i <= options.workers; i++) await startWorker();
    const edge = await startProcess(
      'edge',
      sipedgeCommand('edge', options),
      { ...shared, SIPEDGE_EDGE_ID: 'edge-1' },
      'edge started',
    );
    started.push(edge);
    processes.unshift(measured('edge', edge));
    return {
      name: options.name,
      target: `127.0.0.1:${port}`,
      processes,
      redisUrl: shared.REDIS_URL,
      natsMonitorUrl: `http://127.0.0.1:${monitorPort}`,
      workerMetricsUrls: metricsUrls,
      timers: 'BullMQ',
      startWorker,
      killWorker,
      stop: stopAll(started),
    };
  } catch (error) {
    await stopAll(started)();
    throw error;
  }
}
