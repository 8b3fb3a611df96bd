/**
 * SIPp (Debian package `sip-tester`) driven from tests: the project's scenarios in test/sipp,
 * always bounded by a call count (-m), a global timeout (-timeout) that fails the run
 * (-timeout_error), and a rate. The final statistics screen gives calls created, successful and
 * failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

const scenarios = new URL('../sipp/', import.meta.url).pathname;
const rendered = mkdtempSync(join(tmpdir(), 'sipedge-sipp-'));

export type Transport = 'udp' | 'tcp';

export interface SippOptions {
  /** A file in test/sipp without `.xml`. */
  scenario: string;
  /** `{{name}}` placeholders in the scenario (SIPp's own `-key` works only inside messages). */
  fill?: Record<string, string | number>;
  transport: Transport;
  /** host:port to send to (a UAC); absent for a UAS, which only listens. */
  target?: string;
  /** The local address (default 127.0.0.1) and port (default: a free one). */
  localIp?: string;
  localPort?: number;
  /** The request user (SIPp's `-s`). */
  service?: string;
  /** `-key name value` pairs, `[name]` in messages. */
  keys?: Record<string, string | number>;
  /**
   * Digest credentials (`-au`, `-ap`) and the digest-uri without "sip:" (`-auth_uri`), which must
   * be the Request-URI (RFC 2617 §3.2.2.5); SIPp's default is the target address instead.
   */
  auth?: { username: string; password: string; uri: string };
  /** Calls to make (a UAC) or to take (a UAS) before exiting. */
  calls: number;
  /** New calls per second (a UAC); default 10. */
  rate?: number;
  /** Concurrent calls at most; default 1000. */
  limit?: number;
  /** The `pause` length in the scenario, ms (`-d`). */
  pauseMs?: number;
  /**
   * TCP: a connection of its own for each call (`-t tn`) instead of one for all (`-t t1`). A callee
   * (no target) always takes each connection on its own: in `t1` mode SIPp stops when one closes.
   */
  connectionPerCall?: boolean;
  /** Global timeout: the run fails if it has not ended by then. */
  timeoutS: number;
}

export interface SippResult {
  scenario: string;
  exitCode: number | null;
  created: number;
  succeeded: number;
  failed: number;
  /** The start of SIPp's error log (why the first calls failed), then the end of what it printed. */
  output: string;
}

export interface RunningSipp {
  port: number;
  process: ChildProcess;
  done: Promise<SippResult>;
}

/** Starts SIPp; `done` resolves when it exits (by itself: every run is bounded). */
export async function startSipp(options: SippOptions): Promise<RunningSipp> {
  const port = options.localPort ?? (await freePort());
  const errorFile = join(rendered, `errors-${options.scenario}-${port}-${Date.now()}.log`);
  const args = [
    ...(options.target === undefined ? [] : [options.target]),
    '-sf',
    renderScenario(options.scenario, options.fill ?? {}),
    '-t',
    options.transport === 'udp' ? 'u1' : options.connectionPerCall === true ? 'tn' : 't1',
    // SIPp refuses to start when its socket limit (default 50000) exceeds the open-file limit.
    '-max_socket',
    '1000',
    '-i',
    options.localIp ?? '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(options.calls),
    '-r',
    String(options.rate ?? 10),
    '-l',
    String(options.limit ?? 1000),
    '-d',
    String(options.pauseMs ?? 0),
    '-timeout',
    `${options.timeoutS}s`,
    '-timeout_error',
    '-nostdin',
    '-max_recv_loops',
    '10000',
    ...(options.service === undefined ? [] : ['-s', options.service]),
    ...(options.auth === undefined
      ? []
      : ['-au', options.auth.username, '-ap', options.auth.password, '-auth_uri', options.auth.uri]),
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, String(v)]),
    // Why calls failed (unexpected messages, timeouts) goes to a file of its own.
    '-trace_err',
    '-error_file',
    errorFile,
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-64 * 1024));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': at 'exit' the end of SIPp's output (its final statistics screen, which
    // the counters are read from) may still be unread in the pipes.
    child.once('close', (code) => {
      const errors = existsSync(errorFile) ? readFileSync(errorFile, 'latin1').slice(0, 4000) : '';
      resolve({ scenario: options.scenario, exitCode: code, ...statistics(output), output: `${errors}\n${output}` });
    });
  });
  return { port, process: child, done };
}

/** Runs SIPp to its end. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  return (await startSipp(options)).done;
}

/** One line per scenario: what was attempted, what succeeded, what failed. */
export function summary(label: string, result: SippResult): string {
  return `${label}: ${result.created} attempted, ${result.succeeded} succeeded, ${result.failed} failed (sipp exit ${result.exitCode})`;
}

/** The cumulative counters of SIPp's final statistics screen. */
function statistics(output: string): { created: number; succeeded: number; failed: number } {
  const count = (pattern: RegExp) => {
    const all = [...output.matchAll(pattern)];
    return all.length === 0 ? 0 : Number(all[all.length - 1]![1]);
  };
  return {
    created: count(/Total Calls created\s*\|\s*\|\s*(\d+)/g),
    succeeded: count(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/g),
    failed: count(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/g),
  };
}

/** Writes a scenario with its `{{name}}` placeholders filled; a placeholder left unfilled is an error. */
function renderScenario(name: string, fill: Record<string, string | number>): string {
  const text = readFileSync(`${scenarios}${name}.xml`, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (fill[key] === undefined) throw new Error(`scenario ${name}: no value for {{${key}}}`);
    return String(fill[key]);
  });
  const suffix = Object.values(fill)
    .join('-')
    .replace(/[^\w-]/g, '');
  const path = join(rendered, `${name}${suffix === '' ? '' : `-${suffix}`}.xml`);
  writeFileSync(path, text);
  return path;
}
