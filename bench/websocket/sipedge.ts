/**
 * The system under test of the WSS benchmark: `sipedge all` (standalone, in-memory adapters) from
 * the TypeScript sources as `npm start` runs it, with a WSS listener on a throw-away certificate,
 * all on loopback; and what is measured of it: CPU time from /proc (bench/calls/cpu.ts), resident
 * memory (VmRSS of /proc/<pid>/status) and the JS heap (its /metrics), both read after a full
 * garbage collection (test/support/gc-on-signal.ts: SIGUSR2 collects).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates } from '@sipedge/edge/testing';
import { freePort } from '../../test/support/free-port.js';
import { type ManagedProcess, nodeCommand, roleScript, root, startProcess } from '../../test/support/processes.js';
import { metricsText } from '../../test/support/probes.js';
import { treeCpuSeconds } from '../calls/cpu.js';

export interface SipedgeOptions {
  /** Connections the benchmark holds: the process's connection limit is raised above it when needed. */
  connections: number;
  /** SIPEDGE_WS_PING_INTERVAL_MS */
  pingIntervalMs: number;
}

/** Memory of the process after a full garbage collection. */
export interface MemoryReading {
  /** VmRSS, bytes. */
  rssBytes: number;
  /** The main thread's JS heap in use (`nodejs_heap_size_used_bytes`), bytes. */
  heapUsedBytes: number;
  /**
   * The young generation's committed size (`nodejs_heap_space_size_total_bytes{space="new"}`), bytes:
   * V8 grows it to 32 MiB under allocation and shrinks it to 1 MiB after a while of little allocation,
   * which moves RSS by ~16 MiB whatever the process retains.
   */
  newSpaceBytes: number;
  /** Flows (stream connections) the edge has open (`sipedge_edge_open_flows`). */
  openFlows: number;
}

export interface RunningSipedge {
  pid: number;
  /** wss://127.0.0.1:<port> */
  wssUrl: string;
  /** The CA that issued the edge's certificate: what clients trust (PEM). */
  ca: string;
  /** The settings it runs with besides its addresses, its certificate files and the fleet secret: what a result records. */
  settings: Record<string, string>;
  /** User + system CPU seconds used so far (with its threads, and any child processes). */
  cpuSeconds(): number;
  memory(): Promise<MemoryReading>;
  /** Undefined while it runs; else how it ended (`exit code 1`, `signal SIGKILL`). */
  ended(): string | undefined;
  /** Its last output, for a failure report. */
  output(): string;
  /** SIGTERM, SIGKILL after 10 s; removes the certificate files. Idempotent. */
  stop(): Promise<void>;
}

/** The default of SIPEDGE_MAX_CONNECTIONS, and room for the other descriptors above the held connections. */
const DEFAULT_MAX_CONNECTIONS = 5000;
const CONNECTION_HEADROOM = 100;
/** A full collection on SIGUSR2 is done well within this; the process then reads its own heap on /metrics. */
const GC_SETTLE_MS = 300;

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} not found on /metrics`);
  return Number(line.slice(name.length + 1));
}

function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

export async function startSipedge(options: SipedgeOptions): Promise<RunningSipedge> {
  const dir = mkdtempSync(join(tmpdir(), 'sipedge-bench-wss-'));
  let sipedge: ManagedProcess | undefined;
  try {
    const tls = await makeTestCertificates();
    writeFileSync(join(dir, 'edge.pem'), tls.cert);
    writeFileSync(join(dir, 'edge.key'), tls.key, { mode: 0o600 });
    const [sipPort, wssPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const settings = {
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'true',
      SIPEDGE_WS_PING_INTERVAL_MS: String(options.pingIntervalMs),
      SIPEDGE_MAX_CONNECTIONS: String(Math.max(DEFAULT_MAX_CONNECTIONS, options.connections + CONNECTION_HEADROOM)),
    };
    const env = {
      ...settings,
      SIPEDGE_FLEET_SECRET: 'bench-fleet-secret-bench-fleet-secret-0001',
      SIPEDGE_UDP: `127.0.0.1:${sipPort}`,
      SIPEDGE_TCP: `127.0.0.1:${sipPort}`,
      SIPEDGE_ADVERTISED: `127.0.0.1:${sipPort}`,
      SIPEDGE_HTTP: `127.0.0.1:${httpPort}`,
      SIPEDGE_WSS: `127.0.0.1:${wssPort}`,
      SIPEDGE_TLS_CERT_FILE: join(dir, 'edge.pem'),
      SIPEDGE_TLS_KEY_FILE: join(dir, 'edge.key'),
    };
    const script = roleScript('all');
    const started = await startProcess(
      'sipedge all',
      nodeCommand({
        ...script,
        execArgv: [...script.execArgv, '--expose-gc', '--import', `${root}test/support/gc-on-signal.ts`],
      }),
      env,
      'sipedge standalone: ready',
    );
    sipedge = started;
    const pid = started.child.pid!;
    const metrics = `http://${env.SIPEDGE_HTTP}/metrics`;
    let stopped: Promise<void> | undefined;
    return {
      pid,
      wssUrl: `wss://127.0.0.1:${wssPort}`,
      ca: tls.ca,
      settings,
      cpuSeconds: () => treeCpuSeconds([pid]).get(pid)!,
      async memory() {
        started.child.kill('SIGUSR2');
        await new Promise((resolve) => setTimeout(resolve, GC_SETTLE_MS));
        const text = await metricsText(metrics);
        return {
          rssBytes: rssBytes(pid),
          heapUsedBytes: sample(text, 'sipedge_edge_nodejs_heap_size_used_bytes'),
          newSpaceBytes: sample(text, 'sipedge_edge_nodejs_heap_space_size_total_bytes{space="new"}'),
          openFlows: sample(text, 'sipedge_edge_open_flows'),
        };
      },
      ended() {
        const { exitCode, signalCode } = started.child;
        if (signalCode !== null) return `signal ${signalCode}`;
        return exitCode === null ? undefined : `exit code ${exitCode}`;
      },
      output: () => started.output(),
      stop() {
        stopped ??= started.stop().finally(() => rmSync(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  } catch (error) {
    await sipedge?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
