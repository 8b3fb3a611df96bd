/**
 * npm run bench:websocket: 1,000 concurrent SIP over WebSocket (WSS) registrations held with
 * keep-alives against `sipedge all` (issue 17), and what they cost the edge: memory per connection,
 * CPU per registration and per connection-minute held, registration latency. Not part of `npm test`.
 *
 *   npm run bench:websocket                        1,000 connections held 60 s (about 2 minutes)
 *   npm run bench:websocket -- --help              the options
 *   npm run bench:websocket -- --connections 200 --seconds 10 --no-write
 *
 * Needs the openssl CLI (a throw-away certificate). Loopback only. See bench/README.md.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { writeResultJson } from './support/results.js';
import type { WssRegistrant } from './websocket/client.js';
import { CONNECTIONS_PER_SOURCE, hold, openAndRegister, STEP_TIMEOUT_MS } from './websocket/load.js';
import { checks, type Readings, summarise, tableLines } from './websocket/report.js';
import { type RunningSipedge, startSipedge } from './websocket/sipedge.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

const USAGE = `npm run bench:websocket -- [options]: concurrent WSS registrations held with keep-alives

  --connections N     WSS connections, each REGISTERing its own AOR (default 1000)
  --seconds S         how long they are held once all are registered (default 60)
  --ping-ms MS        the edge's WebSocket ping interval, SIPEDGE_WS_PING_INTERVAL_MS (default 5000)
  --keepalive-ms MS   each client's CRLFCRLF keep-alive interval (default 15000, SIP.js's style)
  --batch N           connections opened at once (default 100)
  --no-write          print only; do not replace bench/results/websocket.json
  -h, --help          this text`;

const OPTIONS = {
  connections: { type: 'string', default: '1000' },
  seconds: { type: 'string', default: '60' },
  'ping-ms': { type: 'string', default: '5000' },
  'keepalive-ms': { type: 'string', default: '15000' },
  batch: { type: 'string', default: '100' },
  'no-write': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The run's settings from the command line; on --help the usage (exit 0), on a mistake the usage (exit 2). */
function settings() {
  const wrong = (message: string): never => {
    process.stderr.write(`${message}\n\n${USAGE}\n`);
    return process.exit(2);
  };
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    return wrong((error as Error).message);
  }
  if (values.help) {
    out(USAGE);
    process.exit(0);
  }
  const whole = (name: 'connections' | 'seconds' | 'ping-ms' | 'keepalive-ms' | 'batch') => {
    const n = Number(values[name]);
    return Number.isInteger(n) && n > 0 ? n : wrong(`--${name}: ${values[name]} is not a positive whole number`);
  };
  return {
    connections: whole('connections'),
    seconds: whole('seconds'),
    pingMs: whole('ping-ms'),
    keepaliveMs: whole('keepalive-ms'),
    batch: whole('batch'),
    write: !values['no-write'],
  };
}

const { connections, seconds, pingMs, keepaliveMs, batch, write } = settings();

/** Opened, registered and closed before the baseline is read, so that it holds the code and caches the load needs. */
const WARM_UP_CONNECTIONS = 20;
/** The edge's CPU with no connection is read over this long (after the warm-up); the baseline memory after it. */
const IDLE_MS = 10_000;
/** After the hold, how long the answers to the last keep-alives may take. */
const ANSWER_WAIT_MS = 5000;
/** Everything but the batches and the hold: certificate, start, warm-up, idle, readings, closing, stopping. */
const FIXED_BUDGET_MS = 120_000;
const deadlineMs = FIXED_BUDGET_MS + Math.ceil(connections / batch) * 2 * STEP_TIMEOUT_MS + seconds * 1000;

const wsVersion = (
  JSON.parse(readFileSync(new URL('../node_modules/ws/package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The machine, as the calls benchmark records it, plus the TLS and WebSocket libraries and the load at the start. */
function machine() {
  const [first] = cpus();
  return {
    cpus: cpus().length,
    cpuModel: first?.model,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openssl: process.versions.openssl,
    ws: wsVersion,
  };
}

/** Every connection ever opened and the edge: what the clean-up closes, whatever happened. */
const opened: WssRegistrant[] = [];
let sipedge: RunningSipedge | undefined;
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const client of opened) client.terminate();
    await sipedge?.stop();
  })();
  return cleaning;
}
const deadline = setTimeout(() => {
  process.stderr.write(`\ndeadline of ${Math.round(deadlineMs / 1000)} s passed: stopping\n`);
  void cleanUp().finally(() => process.exit(1));
}, deadlineMs);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const clientCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function run(edge: RunningSipedge): Promise<Readings> {
  const track = (client: WssRegistrant) => opened.push(client);
  const warm = await openAndRegister(
    edge,
    { first: 0, count: WARM_UP_CONNECTIONS, batch: WARM_UP_CONNECTIONS, user: (i) => `warmup${i}` },
    track,
  );
  if (warm.registered.length === 0) throw new Error(`warm-up: no connection registered (${[...warm.failures.keys()]})`);
  await Promise.all(warm.registered.map((c) => c.close()));
  const idleStart = edge.cpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const idleCpuSeconds = edge.cpuSeconds() - idleStart;
  const baseline = await edge.memory();
  out(
    `baseline: RSS ${(baseline.rssBytes / 2 ** 20).toFixed(1)} MiB after a ${WARM_UP_CONNECTIONS}-connection warm-up`,
  );

  out(`opening ${connections} WSS connections, ${batch} at a time, each REGISTERing …`);
  let client = clientCpuSeconds();
  const open = await openAndRegister(edge, { first: 0, count: connections, batch, user: (i) => `user${i}` }, track);
  const clientOpen = clientCpuSeconds() - client;
  out(
    `  ${open.registered.length} registered, ${open.failed} failed in ${(open.wallMs / 1000).toFixed(1)} s` +
      (open.failures.size === 0 ? '' : `: ${[...open.failures].map(([why, n]) => `${n}× ${why}`).join('; ')}`),
  );
  const afterOpen = await edge.memory();

  out(`holding them ${seconds} s (pings every ${pingMs} ms, keep-alives every ${keepaliveMs} ms) …`);
  client = clientCpuSeconds();
  const held = await hold(edge, open.registered, { holdMs: seconds * 1000, keepaliveMs, answerWaitMs: ANSWER_WAIT_MS });
  const clientHold = clientCpuSeconds() - client;
  const endOfHold = await edge.memory();

  await Promise.all(open.registered.map((c) => c.close()));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const afterClose = await edge.memory();
  return {
    connections,
    holdSeconds: seconds,
    pingMs,
    keepaliveMs,
    idleCpuSeconds,
    idleSeconds: IDLE_MS / 1000,
    baseline,
    afterOpen,
    endOfHold,
    afterClose,
    open,
    hold: held,
    clientCpuSeconds: { open: clientOpen, hold: clientHold },
  };
}

let exitCode = 0;
try {
  const host = machine();
  out(
    `machine: ${host.cpus} × ${host.cpuModel}, ${host.memoryGiB} GiB, Linux ${host.kernel}, Node ${host.node}, ` +
      `OpenSSL ${host.openssl}, ws ${host.ws}; load average ${host.loadAverage1m}`,
  );
  out(
    `sipedge all (standalone) with WSS on loopback; ${connections} connections, ${CONNECTIONS_PER_SOURCE} from each ` +
      `source address in 127.10/16, held ${seconds} s; deadline ${Math.round(deadlineMs / 1000)} s`,
  );
  sipedge = await startSipedge({ connections, pingIntervalMs: pingMs });
  const readings = await run(sipedge);
  const summary = summarise(readings);
  const checked = checks(readings, summary);
  out();
  for (const line of tableLines(readings, summary, checked)) out(line);
  if (checked.some((c) => !c.ok)) {
    exitCode = 1;
    out(`\nsipedge's last output:\n${sipedge.output().slice(-3000)}`);
  }
  if (write) {
    const file = await writeResultJson('websocket.json', {
      date: new Date().toISOString(),
      command: ['npm run bench:websocket', ...process.argv.slice(2)].join(' '),
      machine: host,
      settings: {
        connections,
        seconds,
        pingMs,
        keepaliveMs,
        batch,
        connectionsPerSource: CONNECTIONS_PER_SOURCE,
        warmUpConnections: WARM_UP_CONNECTIONS,
        idleSeconds: IDLE_MS / 1000,
        sipedge: sipedge.settings,
      },
      ...summary,
      checks: checked,
    });
    out(`\nwrote ${file}`);
  }
} catch (error) {
  exitCode = 1;
  process.stderr.write(`\nbench:websocket failed: ${(error as Error).stack ?? String(error)}\n`);
  const dropped = opened.filter((c) => c.counts.closedUnexpectedly !== undefined).length;
  if (dropped > 0) process.stderr.write(`${dropped} of ${opened.length} connections had closed unexpectedly\n`);
  if (sipedge !== undefined) {
    const ended = sipedge.ended();
    if (ended !== undefined) process.stderr.write(`sipedge ended during the run (${ended})\n`);
    process.stderr.write(`\nsipedge's last output:\n${sipedge.output().slice(-3000)}\n`);
  }
} finally {
  await cleanUp();
  clearTimeout(deadline);
}
process.exit(exitCode);
