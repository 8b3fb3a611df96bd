/**
 * Where a sipedge process spent its CPU time, from the V8 CPU profile Node writes on exit with
 * --cpu-prof: self time by package or source area, and the functions with the most self time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileSummary {
  file: string;
  /** The process it is of (the benchmark's name for it). */
  process: string;
  /** Sampled CPU time, ms (idle left out). */
  busyMs: number;
  /** Share of busy time by area: a package, a workspace library, Node's internals, GC. */
  areas: Array<{ area: string; percent: number }>;
  functions: Array<{ name: string; percent: number }>;
}

/** Which package or part of the repository a script URL belongs to. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const source = /\/(libs|services)\/([^/]+)\//.exec(url);
  return source === null ? url : `${source[1]}/${source[2]}`;
}

/** The pid in the name Node gives a profile: CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile. */
export function profilePid(file: string): number {
  return Number(file.split('/').pop()!.split('.')[3]);
}

export function summariseProfile(file: string, process: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const intervalMs = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0 || functionName === '(idle)' || functionName === '(program)') continue;
    busy += hits;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + hits);
    const name =
      `${functionName || '(anonymous)'} ${url === '' ? '' : `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + hits);
  }
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, percent: (100 * hits) / Math.max(1, busy) }));
  return {
    file,
    process,
    busyMs: busy * intervalMs,
    areas: ranked(areas).map(({ name, percent }) => ({ area: name, percent })),
    functions: ranked(functions),
  };
}

/** The profiles in a directory, largest first (the main thread's; the others are tsx's loader threads). */
export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => readFileSync(b).length - readFileSync(a).length);
}
