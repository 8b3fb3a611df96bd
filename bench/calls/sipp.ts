/**
 * One SIPp process of a benchmark step (the caller or the callee), bounded by its own global
 * timeout, with its statistics (-trace_stat) and, for the caller, every call's INVITE→200 time
 * (-trace_rtt) written to a directory of the step's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitedChildrenCpuSeconds } from './cpu.js';

const scenarios = new URL('./sipp/', import.meta.url).pathname;

/**
 * What SIPp's calls travel over: `udp`, one socket each side (SIPp's u1), or `tcp`, one connection
 * each side carrying every call (t1), as a trunk between two servers does.
 */
export type BenchTransport = 'udp' | 'tcp';
export const BENCH_TRANSPORTS: readonly BenchTransport[] = ['udp', 'tcp'];

export interface SippRun {
  role: 'uac' | 'uas';
  transport: BenchTransport;
  /** Where SIPp writes its files. */
  dir: string;
  port: number;
  /** A caller: where it sends (host:port) and the callee's address (the Request-URI host). */
  target?: string;
  uas?: string;
  /** A caller: new calls per second and how many. */
  rate?: number;
  calls?: number;
  /** Calls in progress at most. */
  limit: number;
  /** The run fails (non-zero exit) if it has not ended by then. */
  timeoutS: number;
}

export interface SippCounters {
  created: number;
  succeeded: number;
  failed: number;
  retransmissions: number;
}

export interface FinishedSipp {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /**
   * This process's exited children's CPU seconds (cutime + cstime) right after SIPp was waited
   * for: the differences between the runs' readings, in the order they exited, are their own times.
   */
  childrenCpuAtExit: number;
  counters: SippCounters;
  /** The end of what it printed and its error log, for a failed run. */
  output: string;
}

export interface RunningSipp {
  process: ChildProcess;
  done: Promise<FinishedSipp>;
}

/**
 * The scenario file of a run. Over TCP the callee keeps no time-wait after its last message: none
 * is retransmitted over a reliable transport (as Timers J and K are 0 there, RFC 3261 §17.2.2,
 * §17.1.2.2), and the caller's connection, closed as it exits, would end a call still waiting.
 */
function scenarioFile(run: SippRun): string {
  const file = join(scenarios, `${run.role}.xml`);
  if (run.transport !== 'tcp' || run.role !== 'uas') return file;
  const scenario = readFileSync(file, 'latin1');
  const timewait = /^\s*<timewait [^>]*\/>\n/m;
  if (!timewait.test(scenario)) throw new Error(`${file}: no <timewait> to leave out over TCP`);
  const reliable = join(run.dir, 'uas-tcp.xml');
  writeFileSync(reliable, scenario.replace(timewait, ''), 'latin1');
  return reliable;
}

export function startSipp(run: SippRun): RunningSipp {
  const args = [
    ...(run.target === undefined ? [] : [run.target]),
    '-sf',
    scenarioFile(run),
    '-t',
    run.transport === 'tcp' ? 't1' : 'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(run.port),
    '-l',
    String(run.limit),
    '-timeout',
    `${run.timeoutS}s`,
    '-timeout_error',
    '-nostdin',
    // SIPp refuses to start when its socket limit (default 50000) exceeds the open-file limit.
    '-max_socket',
    '1000',
    '-trace_stat',
    '-stf',
    join(run.dir, `${run.role}-stat.csv`),
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    join(run.dir, `${run.role}-errors.log`),
    // The Contact's parameters: over TCP, its transport (RFC 3263 §4.1: a URI without one means
    // UDP, where the callee would never get the in-dialog ACK and BYE).
    '-key',
    'contact_params',
    run.transport === 'tcp' ? ';transport=tcp' : '',
    ...(run.role === 'uac'
      ? ['-r', String(run.rate), '-m', String(run.calls), '-key', 'uas', run.uas!, '-trace_rtt', '-rtt_freq', '1']
      : []),
  ];
  const child = spawn('sipp', args, { cwd: run.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-16 * 1024));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const done = new Promise<FinishedSipp>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      // Node has waited for the child by now, so its time is in this process's cutime/cstime.
      const childrenCpuAtExit = exitedChildrenCpuSeconds();
      const errors = join(run.dir, `${run.role}-errors.log`);
      resolve({
        exitCode,
        signal,
        childrenCpuAtExit,
        counters: countersOf(join(run.dir, `${run.role}-stat.csv`)),
        output: `${existsSync(errors) ? problems(readFileSync(errors, 'latin1')) : ''}\n${output.slice(-2000)}`,
      });
    });
  });
  return { process: child, done };
}

/**
 * The start of SIPp's error log, one event a line, without the hold's expected timeouts (the
 * caller's wait for a late 180 ends by jumping to its BYE, which SIPp logs for every call).
 */
function problems(log: string): string {
  return log
    .split(/(?=\d{4}-\d{2}-\d{2}\t)/)
    .filter((event) => !event.includes('jumping to label'))
    .join('\n')
    .slice(0, 2000);
}

/** The cumulative counters of the last line of a -trace_stat file (zeros if there is none). */
function countersOf(path: string): SippCounters {
  const lines = existsSync(path) ? readFileSync(path, 'latin1').trim().split('\n') : [];
  if (lines.length < 2) return { created: 0, succeeded: 0, failed: 0, retransmissions: 0 };
  const header = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`${path}: no column ${name}`);
    return Number(last[index]);
  };
  return {
    created: column('TotalCallCreated'),
    succeeded: column('SuccessfulCall(C)'),
    failed: column('FailedCall(C)'),
    retransmissions: column('Retransmissions(C)'),
  };
}

/** The caller's INVITE→200 times in ms (SIPp's resolution), sorted. */
export function setupTimesMs(dir: string): number[] {
  const file = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
  if (file === undefined) return [];
  return readFileSync(join(dir, file), 'latin1')
    .split('\n')
    .slice(1)
    .filter((line) => line.endsWith(';setup'))
    .map((line) => Number(line.split(';')[1]))
    .sort((a, b) => a - b);
}
