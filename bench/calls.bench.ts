/**
 * npm run bench: calls per second, latency and cost per call of sipedge, side by side with
 * Kamailio and with SIPp calling SIPp directly (the rig's limit). Not part of `npm test`.
 *
 *   npm run bench                          every system, 200 … 3000 calls/s, 40 s a step
 *   npm run bench -- --help                the options
 *   npm run bench -- --quick               100 and 200 calls/s, 3 s a step (tries the rig)
 *   npm run bench -- --systems standalone,kamailio --rates 500,1000 --seconds 5
 *   npm run bench -- --profile             also CPU-profile the sipedge processes
 *   npm run bench -- --no-write            print only; do not replace bench/results/calls.*
 *   npm run bench -- --takeover-calls 0    without the takeover measurement (calls/takeover.ts)
 *
 * Needs Debian's sip-tester (sipp); redis-server and nats-server for the distributed systems and
 * kamailio for the reference, each skipped with a reason when absent. See bench/README.md.
 */
import { cpus, freemem, release, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chartSvg } from './calls/chart.js';
import { profilePid, profilesIn, type ProfileSummary, summariseProfile } from './calls/profile.js';
import {
  checkTargets,
  costLines,
  STEP_HEADER,
  stepLine,
  summarise,
  summaryLines,
  type SystemResult,
  takeoverLine,
} from './calls/report.js';
import { BENCH_TRANSPORTS, type BenchTransport } from './calls/sipp.js';
import { runStep } from './calls/step.js';
import {
  commandExists,
  kamailioInstalled,
  type RunningSystem,
  startSystem,
  SYSTEM_LABELS,
  SYSTEM_NAMES,
  type SystemName,
} from './calls/systems.js';
import { measureTakeover, type TakeoverResult } from './calls/takeover.js';
import { resultFile, writeResultJson } from './support/results.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

const USAGE = `npm run bench -- [options]: calls per second and cost per call, sipedge beside Kamailio

  --rates R1,R2,…          the steps, in calls/s (default 200,300,500,750,1000,1500,2000,3000)
  --seconds N              how long each step offers calls (default 40: long enough for every
                           timer of a call to fire or be removed within its step)
  --systems S1,S2,…        of ${SYSTEM_NAMES.join(', ')} (default all)
  --quick                  100 and 200 calls/s, 3 s a step: tries the rig
  --keep-going             do not stop a system at its first step with a failed call
  --profile                CPU-profile the sipedge processes
  --no-write               print only; do not replace bench/results/calls.*
  --transport T            udp (default: one socket each side) or tcp (one connection each side
                           carrying every call, as a trunk between servers)
  --kamailio-children N    Kamailio's UDP worker processes, and TCP ones over TCP (default 8)
  --takeover-calls N       ringing calls whose worker is SIGKILLed before their deadline, after the
                           systems (default 20, when a distributed system ran; 0: not measured;
                           given, it runs without one)
  --takeover-deadline S    those calls' deadline, their INVITE's Expires, in seconds (default 10)
  -h, --help               this text`;

/** The command line, or the usage and exit 2 when it is wrong (no stack trace for a typo). */
function commandLine() {
  try {
    return parseArgs({
      options: {
        rates: { type: 'string' },
        seconds: { type: 'string' },
        systems: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'keep-going': { type: 'boolean', default: false },
        'no-write': { type: 'boolean', default: false },
        profile: { type: 'boolean', default: false },
        transport: { type: 'string', default: 'udp' },
        'kamailio-children': { type: 'string', default: '8' },
        'takeover-calls': { type: 'string' },
        'takeover-deadline': { type: 'string', default: '10' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

const args = commandLine();
if (args.help) {
  out(USAGE);
  process.exit(0);
}

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const positive = (name: string, text: string, orZero = false) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (orZero ? 0 : 1))
    usageError(`--${name}: ${text} is not a ${orZero ? '' : 'positive '}whole number`);
  return n;
};
const rates = list(args.rates ?? (args.quick ? '100,200' : '200,300,500,750,1000,1500,2000,3000')).map((r) =>
  positive('rates', r),
);
const seconds = positive('seconds', args.seconds ?? (args.quick ? '3' : '40'));
const systems = list(args.systems ?? SYSTEM_NAMES.join(',')).map((name) => {
  if (!(SYSTEM_NAMES as readonly string[]).includes(name))
    usageError(`--systems: unknown system ${name} (${SYSTEM_NAMES.join(', ')})`);
  return name as SystemName;
});
if (!(BENCH_TRANSPORTS as readonly string[]).includes(args.transport!))
  usageError(`--transport: ${args.transport} is not one of ${BENCH_TRANSPORTS.join(', ')}`);
const transport = args.transport as BenchTransport;
const kamailioChildren = positive('kamailio-children', args['kamailio-children']!);
const takeoverCalls = positive('takeover-calls', args['takeover-calls'] ?? '20', true);
const takeoverDeadline = positive('takeover-deadline', args['takeover-deadline']!);
/** The takeover runs after the systems when one of them is distributed, or when --takeover-calls asks for it. */
const runTakeover =
  takeoverCalls > 0 && (args['takeover-calls'] !== undefined || systems.some((s) => s.startsWith('distributed')));
/** Each system first takes this, unrecorded, so that Node's JIT and the services are warm. */
const WARM_UP = { rate: 100, seconds: args.quick ? 1 : 3 };

/** Why a system cannot run on this machine, if it cannot. */
function missing(system: SystemName): string | undefined {
  if (system === 'kamailio' && !kamailioInstalled()) return 'kamailio not installed (apt-get install kamailio)';
  if (system.startsWith('distributed')) {
    const absent = ['redis-server', 'nats-server'].filter((c) => !commandExists(c));
    if (absent.length > 0) return `${absent.join(' and ')} not installed (apt-get install ${absent.join(' ')})`;
  }
  return undefined;
}

function versionOf(command: string, args: string[], pattern: RegExp): string | undefined {
  try {
    const text = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(text)?.[1];
  } catch (error) {
    // sipp -v exits non-zero after printing its version.
    const text = String((error as { stdout?: string }).stdout ?? '');
    return pattern.exec(text)?.[1];
  }
}

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    sipp: versionOf('sipp', ['-v'], /SIPp (v[\d.]+)/),
    kamailio: kamailioInstalled() ? versionOf('kamailio', ['-v'], /kamailio ([\d.]+)/) : undefined,
    redis: commandExists('redis-server') ? versionOf('redis-server', ['--version'], /v=([\d.]+)/) : undefined,
    nats: commandExists('nats-server') ? versionOf('nats-server', ['--version'], /v([\d.]+)/) : undefined,
  };
}

async function benchSystem(name: SystemName): Promise<{ result: SystemResult; profiles: ProfileSummary[] }> {
  const label = SYSTEM_LABELS[name];
  const why = missing(name);
  if (why !== undefined) {
    out(`${label.padEnd(30)} skipped: ${why}`);
    return { result: { system: name, label, skipped: why, steps: [] }, profiles: [] };
  }
  const profileDir =
    args.profile && name !== 'direct' && name !== 'kamailio'
      ? mkdtempSync(join(tmpdir(), `sipedge-bench-prof-${name}-`))
      : undefined;
  let system: RunningSystem;
  try {
    system = await startSystem(name, {
      kamailioChildren,
      transport,
      ...(profileDir === undefined ? {} : { profileDir }),
    });
  } catch (error) {
    const reason = `did not start: ${String(error).slice(0, 2000)}`;
    out(`${label.padEnd(30)} ${reason}`);
    return { result: { system: name, label, skipped: reason, steps: [] }, profiles: [] };
  }
  const result: SystemResult = {
    system: name,
    label,
    ...(system.timers === undefined ? {} : { timers: system.timers }),
    steps: [],
  };
  try {
    const warm = await runStep(system, WARM_UP.rate, WARM_UP.seconds, transport);
    if (!warm.clean) out(`${label.padEnd(30)} warning: the warm-up at ${WARM_UP.rate} calls/s had failed calls`);
    for (const rate of rates) {
      const step = await runStep(system, rate, seconds, transport);
      result.steps.push(step);
      out(stepLine(name, step));
      for (const line of costLines(step)) out(`  ${line}`);
      if (step.problem !== undefined)
        out(
          `  ${step.problem
            .split('\n')
            .filter((l) => l.trim() !== '')
            .slice(0, 6)
            .join('\n  ')}`,
        );
      if (!step.clean && !args['keep-going']) break;
    }
  } finally {
    await system.stop();
  }
  const names = new Map(system.processes.map((p) => [p.pid, p.name]));
  const profiles =
    profileDir === undefined
      ? []
      : profilesIn(profileDir).map((file) => summariseProfile(file, names.get(profilePid(file)) ?? 'a thread'));
  for (const p of profiles) {
    out(
      `  profile of ${p.process} (${Math.round(p.busyMs)} ms busy, ${p.file}): ${p.areas
        .slice(0, 8)
        .map((a) => `${a.area} ${a.percent.toFixed(1)}%`)
        .join(', ')}`,
    );
  }
  return { result, profiles };
}

/** The takeover measurement (calls/takeover.ts), or why it did not run. */
async function benchTakeover(): Promise<TakeoverResult | { skipped: string }> {
  const why = missing('distributed-1w');
  if (why !== undefined) {
    out(`takeover: skipped: ${why}`);
    return { skipped: why };
  }
  try {
    const result = await measureTakeover({ calls: takeoverCalls, deadlineSeconds: takeoverDeadline });
    out(takeoverLine(result));
    return result;
  } catch (error) {
    const reason = `did not run: ${String(error).slice(0, 2000)}`;
    out(`takeover: ${reason}`);
    return { skipped: reason };
  }
}

if (!commandExists('sipp')) {
  out(
    'npm run bench needs SIPp: apt-get install sip-tester (and kamailio redis-server nats-server for the other systems)',
  );
  process.exit(1);
}
const host = machine();
out(
  `machine: ${host.cpus} × ${host.cpuModel}, ${host.memoryGiB} GiB, Linux ${host.kernel}, Node ${host.node}; SIPp ${host.sipp}, Kamailio ${host.kamailio ?? '–'}, Redis ${host.redis ?? '–'}, NATS ${host.nats ?? '–'}`,
);
out(
  `steps: ${rates.join(', ')} calls/s, ${seconds} s each (INVITE → 180 → 200 → ACK → 1 s → BYE → 200 over ${transport.toUpperCase()} on loopback); a system stops at its first step with a failed call${args['keep-going'] ? ' (--keep-going: it does not)' : ''}`,
);
out();
out(STEP_HEADER);
const results: SystemResult[] = [];
const profiles: Record<string, ProfileSummary[]> = {};
for (const name of systems) {
  const { result, profiles: found } = await benchSystem(name);
  results.push(result);
  if (found.length > 0) profiles[name] = found;
}
const takeover = runTakeover ? await benchTakeover() : undefined;
const summaries = summarise(results);
const targets = checkTargets(summaries, takeover === undefined || 'skipped' in takeover ? undefined : takeover);
for (const line of summaryLines(summaries, targets)) out(line);

if (!args['no-write']) {
  const date = new Date().toISOString();
  const json = await writeResultJson('calls.json', {
    date,
    machine: host,
    rates,
    seconds,
    transport,
    warmUp: WARM_UP,
    kamailioChildren,
    results,
    summaries,
    targets,
    profiles,
    takeover: takeover ?? { skipped: '--takeover-calls 0, or no distributed system in the run' },
  });
  const svg = resultFile('calls.svg');
  writeFileSync(
    svg,
    await chartSvg(
      results,
      `npm run bench, ${date.slice(0, 10)}, ${transport.toUpperCase()}: ${host.cpus} × ${host.cpuModel}`,
    ),
  );
  out(`\nwrote ${json} and ${fileURLToPath(svg)}`);
}
