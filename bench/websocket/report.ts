/**
 * What a WSS benchmark run found: the figures derived from its readings (memory per connection, CPU
 * per registration and per connection-minute held, latency percentiles), the checks of issue 17's
 * load test, and the table printed at the end.
 */
import { fmt } from '../calls/report.js';
import { percentile } from '../support/stats.js';
import type { HoldCounts, OpenResult } from './load.js';
import type { MemoryReading } from './sipedge.js';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(percentile(sorted, q) * 10) / 10;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

/** The raw readings of one run. */
export interface Readings {
  connections: number;
  holdSeconds: number;
  pingMs: number;
  keepaliveMs: number;
  /** The edge's CPU with no connection, over `idleSeconds`. */
  idleCpuSeconds: number;
  idleSeconds: number;
  baseline: MemoryReading;
  afterOpen: MemoryReading;
  endOfHold: MemoryReading;
  afterClose: MemoryReading;
  open: OpenResult;
  hold: { cpuSeconds: number; wallMs: number; counts: HoldCounts };
  /** This process's own CPU (the clients: TLS, WebSocket) over the opening and over the hold. */
  clientCpuSeconds: { open: number; hold: number };
}

export interface Check {
  check: string;
  ok: boolean;
  measured: string;
}

const MiB = 2 ** 20;
const KiB = 1024;

/** The figures of a run, as written to bench/results/websocket.json. */
export function summarise(r: Readings) {
  const held = r.open.registered.length;
  const perHeld = (bytes: number) => (held === 0 ? Number.NaN : Math.round(bytes / held));
  /** RSS less the young generation's committed size: what the process retains, whatever V8's nursery is sized at. */
  const settled = (m: MemoryReading) => m.rssBytes - m.newSpaceBytes;
  const holdMinutes = r.hold.wallMs / 60_000;
  const idleMsPerMinute = (r.idleCpuSeconds * 1000 * 60) / r.idleSeconds;
  const holdMsPerMinute = (r.hold.cpuSeconds * 1000) / holdMinutes;
  const { counts } = r.hold;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    connections: { attempted: r.connections, registered: held, failed: r.open.failed },
    failures: Object.fromEntries(r.open.failures),
    openWallSeconds: Math.round(r.open.wallMs / 100) / 10,
    latencyMs: { connect: percentiles(r.open.connectMs), register: percentiles(r.open.registerMs) },
    cpu: {
      /** TLS handshake + WebSocket upgrade, per connection opened. */
      connectMsPerConnection: round((r.open.connectCpuSeconds * 1000) / Math.max(1, r.open.connectMs.length)),
      /** REGISTER → 200, per REGISTER answered 200. */
      registerMsPerRegistration: round((r.open.registerCpuSeconds * 1000) / Math.max(1, held)),
      /** Both: what a browser's arrival costs the edge. */
      totalMsPerRegisteredConnection: round(
        ((r.open.connectCpuSeconds + r.open.registerCpuSeconds) * 1000) / Math.max(1, held),
      ),
      idleMsPerMinute: round(idleMsPerMinute),
      holdMsPerMinute: round(holdMsPerMinute),
      holdMsPerConnectionMinute: round(holdMsPerMinute / Math.max(1, held)),
      /** The hold's CPU less what the process spends idle. */
      holdNetOfIdleMsPerConnectionMinute: round((holdMsPerMinute - idleMsPerMinute) / Math.max(1, held)),
      clientSecondsOpen: round(r.clientCpuSeconds.open),
      clientSecondsHold: round(r.clientCpuSeconds.hold),
    },
    memory: {
      baseline: r.baseline,
      afterOpen: r.afterOpen,
      endOfHold: r.endOfHold,
      afterClose: r.afterClose,
      rssPerConnectionAfterOpenBytes: perHeld(r.afterOpen.rssBytes - r.baseline.rssBytes),
      rssPerConnectionEndOfHoldBytes: perHeld(r.endOfHold.rssBytes - r.baseline.rssBytes),
      rssLessYoungGenerationPerConnectionAfterOpenBytes: perHeld(settled(r.afterOpen) - settled(r.baseline)),
      rssLessYoungGenerationPerConnectionEndOfHoldBytes: perHeld(settled(r.endOfHold) - settled(r.baseline)),
      heapPerConnectionAfterOpenBytes: perHeld(r.afterOpen.heapUsedBytes - r.baseline.heapUsedBytes),
      heapPerConnectionEndOfHoldBytes: perHeld(r.endOfHold.heapUsedBytes - r.baseline.heapUsedBytes),
    },
    hold: {
      seconds: Math.round(r.hold.wallMs / 100) / 10,
      pings: counts.pings,
      fewestPingsOnAConnection: counts.fewestPings,
      keepalivesSent: counts.keepalivesSent,
      keepaliveAnswers: counts.keepaliveAnswers,
      unsolicitedSipMessages: counts.unexpectedMessages,
      closedUnexpectedly: Object.fromEntries(counts.closed),
    },
  };
}

export type Summary = ReturnType<typeof summarise>;

/** Issue 17's load test: every connection registered, held without a close, every keep-alive answered. */
export function checks(r: Readings, s: Summary): Check[] {
  const closed = [...r.hold.counts.closed.values()].reduce((a, b) => a + b, 0);
  // The edge pings every pingMs from its start; over the hold each connection sees one less at worst.
  const expectedPings = Math.max(0, Math.floor(r.hold.wallMs / r.pingMs) - 1);
  return [
    {
      check: 'every connection opened and registered (200)',
      ok: s.connections.registered === r.connections,
      measured: `${s.connections.registered} of ${r.connections}`,
    },
    {
      check: 'the edge counted every connection as an open flow',
      ok: r.afterOpen.openFlows === s.connections.registered,
      measured: `${r.afterOpen.openFlows} open flows`,
    },
    {
      check: 'no connection closed before the benchmark closed it',
      ok: closed === 0,
      measured: `${closed} closed${closed === 0 ? '' : ` (codes ${JSON.stringify(s.hold.closedUnexpectedly)})`}`,
    },
    {
      check: 'every keep-alive answered with CRLF',
      // A hold of one keep-alive interval or more has every client send one.
      ok:
        s.hold.keepaliveAnswers === s.hold.keepalivesSent &&
        (s.hold.keepalivesSent > 0 || r.hold.wallMs < r.keepaliveMs),
      measured: `${s.hold.keepaliveAnswers} of ${s.hold.keepalivesSent}`,
    },
    {
      check: `every connection pinged by the edge during the hold (≥ ${expectedPings} each)`,
      ok: s.hold.fewestPingsOnAConnection >= expectedPings,
      measured: `${s.hold.pings} pings, fewest on one connection ${s.hold.fewestPingsOnAConnection}`,
    },
    {
      check: 'all flows gone after the clients closed',
      ok: r.afterClose.openFlows === 0,
      measured: `${r.afterClose.openFlows} open flows`,
    },
  ];
}

const mib = (bytes: number) => `${fmt(bytes / MiB, 1)} MiB`;
const kib = (bytes: number) => `${fmt(bytes / KiB, 1)} KiB`;
const ms = (p: Percentiles) => `p50 ${fmt(p.p50, 1)}, p95 ${fmt(p.p95, 1)}, p99 ${fmt(p.p99, 1)}, max ${fmt(p.max, 1)}`;

/** The table printed at the end of a run. */
export function tableLines(r: Readings, s: Summary, checked: Check[]): string[] {
  const memory = (label: string, m: MemoryReading) =>
    [
      label,
      `RSS ${mib(m.rssBytes)}, heap ${mib(m.heapUsedBytes)} (young generation ${mib(m.newSpaceBytes)}), ${m.openFlows} open flows`,
    ] as const;
  const perConnection = (when: string, rss: number, lessYoung: number, heap: number) =>
    [
      `memory per connection, ${when}`,
      `RSS ${kib(rss)} (${kib(lessYoung)} without the young generation's resizing), heap ${kib(heap)}`,
    ] as const;
  const rows: (readonly [string, string])[] = [
    ['connections registered', `${s.connections.registered} of ${r.connections} in ${fmt(s.openWallSeconds, 1)} s`],
    ['connect (TCP + TLS + upgrade), ms', ms(s.latencyMs.connect)],
    ['REGISTER → 200, ms', ms(s.latencyMs.register)],
    ['edge CPU per connection opened', `${fmt(s.cpu.connectMsPerConnection, 2)} ms (TLS handshake + upgrade)`],
    ['edge CPU per REGISTER', `${fmt(s.cpu.registerMsPerRegistration, 2)} ms`],
    ['edge CPU per registered connection', `${fmt(s.cpu.totalMsPerRegisteredConnection, 2)} ms (both)`],
    memory('memory, baseline (after GC)', r.baseline),
    memory('memory, all open (after GC)', r.afterOpen),
    memory('memory, end of hold (after GC)', r.endOfHold),
    memory('memory, all closed (after GC)', r.afterClose),
    perConnection(
      'all open',
      s.memory.rssPerConnectionAfterOpenBytes,
      s.memory.rssLessYoungGenerationPerConnectionAfterOpenBytes,
      s.memory.heapPerConnectionAfterOpenBytes,
    ),
    perConnection(
      'end of hold',
      s.memory.rssPerConnectionEndOfHoldBytes,
      s.memory.rssLessYoungGenerationPerConnectionEndOfHoldBytes,
      s.memory.heapPerConnectionEndOfHoldBytes,
    ),
    [
      `hold: ${fmt(s.hold.seconds, 1)} s`,
      `pings ${r.pingMs} ms, keep-alives ${r.keepaliveMs} ms; ${s.hold.pings} pings, ${s.hold.keepalivesSent} keep-alives, ${s.hold.keepaliveAnswers} answered`,
    ],
    ['edge CPU, idle (no connections)', `${fmt(s.cpu.idleMsPerMinute, 0)} ms per minute`],
    ['edge CPU, holding', `${fmt(s.cpu.holdMsPerMinute, 0)} ms per minute`],
    [
      'edge CPU per connection-minute held',
      `${fmt(s.cpu.holdMsPerConnectionMinute, 3)} ms (${fmt(s.cpu.holdNetOfIdleMsPerConnectionMinute, 3)} ms net of idle)`,
    ],
    ['unsolicited SIP messages to clients', String(s.hold.unsolicitedSipMessages)],
    [
      'client (this process) CPU',
      `${fmt(s.cpu.clientSecondsOpen, 1)} s opening, ${fmt(s.cpu.clientSecondsHold, 1)} s holding`,
    ],
    ...checked.map((c) => [`${c.ok ? '✓' : '✗'} ${c.check}`, c.measured] as const),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}
