/**
 * CPU time of processes, from Linux's /proc (proc(5)): user + system time of a process and all its
 * descendants that are alive (Kamailio's children, Node's threads are counted with their process),
 * and of this process's children that have exited and been waited for (SIPp runs).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of /proc/<pid>/stat times. */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

interface ProcStat {
  ppid: number;
  /** utime + stime, ticks. */
  ticks: number;
  /** cutime + cstime: waited-for children, ticks. */
  childTicks: number;
}

/** Fields after the command name, which is in parentheses and may contain spaces (proc(5)). */
function readStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  return {
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
    childTicks: Number(fields[13]) + Number(fields[14]),
  };
}

/** CPU seconds used so far by each of `pids` and its living descendants, from one reading of /proc. */
export function treeCpuSeconds(pids: readonly number[]): Map<number, number> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [child, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), child]);
  const treeTicks = (pid: number) => {
    let ticks = 0;
    const pending = [pid];
    while (pending.length > 0) {
      const next = pending.pop()!;
      ticks += stats.get(next)?.ticks ?? 0;
      pending.push(...(children.get(next) ?? []));
    }
    return ticks;
  };
  return new Map(pids.map((pid) => [pid, treeTicks(pid) / TICKS_PER_SECOND]));
}

/** CPU seconds of this process's children that have exited and been waited for. */
export function exitedChildrenCpuSeconds(): number {
  return readStat('self')!.childTicks / TICKS_PER_SECOND;
}
