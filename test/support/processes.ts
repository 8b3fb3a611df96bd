/**
 * sipedge processes for end-to-end tests: the command lines of each role and a spawner that waits
 * for a process to say it is ready.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export const root = new URL('../../', import.meta.url).pathname;

/** Runs TypeScript sources directly, resolving workspace packages to their sources. */
const EXEC_ARGV = ['--conditions=development', '--import', 'tsx'];

/** How much of a process's output is kept (its last characters). */
const OUTPUT_KEPT = 256 * 1024;

/** An executable and its arguments. */
export interface Command {
  file: string;
  args: string[];
}

/** A TypeScript entry point run by Node (the form Node's cluster module takes). */
export interface NodeScript {
  script: string;
  args: string[];
  execArgv: string[];
}

/** A TypeScript file of this repository run with tsx, workspace packages resolved to their sources. */
export const nodeScript = (path: string, args: string[] = []): NodeScript => ({
  script: `${root}${path}`,
  args,
  execArgv: EXEC_ARGV,
});

export const nodeCommand = ({ script, args, execArgv }: NodeScript): Command => ({
  file: process.execPath,
  args: [...execArgv, script, ...args],
});

export type Role = 'all' | 'edge' | 'worker';

/** The `sipedge` executable in one role. */
export const roleScript = (role: Role): NodeScript => nodeScript('services/sipedge/src/main.ts', [role]);
export const roleCommand = (role: Role): Command => nodeCommand(roleScript(role));

export interface ManagedProcess {
  child: ChildProcess;
  /** What the process printed so far (stdout and stderr; the last 256 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (no clean-up at all); resolves when it has exited. */
  kill(): Promise<void>;
}

/** Spawns a command and resolves once its output contains `readyText`; rejects if it exits first or takes too long. */
export async function startProcess(
  label: string,
  command: Command,
  env: NodeJS.ProcessEnv,
  readyText: string,
  timeoutMs = 30_000,
): Promise<ManagedProcess> {
  const child = spawn(command.file, command.args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopWith = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} not ready in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (d: Buffer) => {
      output = (output + d.toString()).slice(-OUTPUT_KEPT);
      if (!ready && output.includes(readyText)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${label} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    stop: (graceMs = 10_000) => stopWith('SIGTERM', graceMs),
    kill: () => stopWith('SIGKILL', 0),
  };
}

/** Runs `sipedge admin ARGS` from the sources; its exit code and output. */
export function sipedgeAdmin(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const { file, args: base } = roleCommand('all');
  const child = spawn(file, [...base.slice(0, -1), 'admin', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}
