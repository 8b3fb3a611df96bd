/**
 * Bounded memory under a spoofing-style flood (issue 14): UDP garbage — random bytes and truncated
 * or malformed SIP — from 100,000 distinct source addresses in 127.0.0.0/8 (Linux routes all of it
 * to lo, so a socket can be bound to each address in turn) to a `sipedge all` process, then from
 * 50,000 more. Every source is untrusted (SIPEDGE_RATE_LIMIT_TRUSTED and SIPEDGE_TRUSTED name
 * 127.0.0.1 only), so the edge's per-source rate limiter tracks each of them: the first round fills
 * it to its 100,000 sources, the second shows that it stays there (new sources evict old ones;
 * measured without the eviction, the second round adds 5.3 MB).
 *
 * Each source sends two datagrams, the last of them malformed SIP that the edge answers statelessly
 * (400 or 505) to the source's socket, and waits for that answer before its socket closes: the
 * flood paces itself to the edge (CONCURRENCY sources at once), so that the edge's socket buffer
 * does not overflow even on a busy machine, and every source demonstrably reached the edge.
 *
 * The edge's heap is read from its /metrics (`nodejs_heap_size_used_bytes`) after a full garbage
 * collection: the process runs with --expose-gc and test/support/gc-on-signal.ts, which collects
 * on SIGUSR2. The heap must grow by less than 40 MB over the first round and by less than 3 MB over
 * the second, and the proxy must still answer an OPTIONS.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { parseMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { type ManagedProcess, nodeCommand, roleScript, root, startProcess } from '../support/processes.js';
import { metricValue, metricsText, optionsRoundTripUdp } from '../support/probes.js';
import { sipRequest } from '../support/sip-client.js';

const MB = 1024 * 1024;
/**
 * New sources per round, and how much the heap may grow over it: the rate limiter's 100,000
 * sources take ~17 MB; once every state keyed by source is at its cap, nearly nothing.
 */
const ROUNDS = [
  { sources: 100_000, heapGrowthBound: 40 * MB },
  { sources: 50_000, heapGrowthBound: 3 * MB },
];
/** Sources sending (and waiting for their answer) at once. */
const CONCURRENCY = 256;
/** How long a source waits for the edge's answer before it gives up (and counts as unanswered). */
const ANSWER_WAIT_MS = 2000;
/** Each round must be over by then, or the test fails (100,000 sources take ~12 s on an idle 2-core machine). */
const ROUND_DEADLINE_MS = 45_000;
/** Sources of the warm-up, which the rounds do not use. */
const WARM_UP = { from: 1_000_000, sources: 2000 };

/** The i-th source address: 127.1.0.0 onwards (127.0.0.0/16 left alone: 127.0.0.1 is the trusted client). */
function sourceAddress(i: number): string {
  const n = (1 << 16) + i;
  return `127.${n >> 16}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * The garbage of source `n` at `address`:`port`: random bytes or SIP the edge drops unanswered
 * (cut before its header section ends, no From), then SIP it answers (cut within its last
 * headers, a bad version, a Content-Length beyond the body, a bad Max-Forwards).
 */
function garbage(address: string, port: number, n: number): Buffer[] {
  const valid = sipRequest('OPTIONS', {
    via: `SIP/2.0/UDP ${address}:${port};branch=z9hG4bKgarbage${n}`,
    callId: `garbage-${n}@${address}`,
  });
  const dropped = [
    randomBytes(randomInt(1, 400)).toString('latin1'),
    valid.slice(0, randomInt(10, valid.length - 30)),
    valid.replace(/From: [^\r]*\r\n/, ''),
  ];
  const answered = [
    valid.slice(0, valid.length - randomInt(1, 30)),
    valid.replace('SIP/2.0\r\n', 'SIP/3.0\r\n'),
    valid.replace('Content-Length: 0', 'Content-Length: 500'),
    valid.replace('Max-Forwards: 70', 'Max-Forwards: many'),
  ];
  const datagrams = [dropped[n % dropped.length]!, answered[n % answered.length]!].map((d) => Buffer.from(d, 'latin1'));
  if (datagrams.some(parses)) throw new Error(`garbage ${n} parses: ${datagrams.join('\n---\n')}`);
  return datagrams;
}

function parses(datagram: Buffer): boolean {
  try {
    parseMessage(datagram);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends source `n`'s garbage from a socket bound to its address (port chosen by the kernel) and
 * waits for the edge's answer to the last datagram; resolves with whether it came.
 */
function sendFrom(n: number, edgePort: number): Promise<boolean> {
  const address = sourceAddress(n);
  const socket = createSocket('udp4');
  return new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ANSWER_WAIT_MS);
    socket.once('message', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.bind(0, address, () => {
      for (const datagram of garbage(address, socket.address().port, n)) socket.send(datagram, edgePort, '127.0.0.1');
    });
  }).finally(() => socket.close());
}

/** Garbage from sources `from`..`to` - 1, CONCURRENCY at a time; resolves with the sources answered. */
async function flood(edgePort: number, from: number, to: number, deadline: number): Promise<number> {
  let next = from;
  let answered = 0;
  const sender = async (): Promise<void> => {
    while (next < to && Date.now() < deadline) {
      if (await sendFrom(next++, edgePort)) answered++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  return answered;
}

/** Every datagram the edge has finished with: dropped (any reason) or answered statelessly. */
async function handledBy(metricsUrl: string): Promise<number> {
  return (await metricsText(metricsUrl))
    .split('\n')
    .filter((l) => /^sipedge_edge_(messages_dropped|stateless_responses)_total\{/.test(l))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('UDP garbage from 150,000 sources (issue 14: bounded memory)', () => {
  let sipedge: ManagedProcess;
  let port: number;
  let metrics: string;

  /** The heap after a full garbage collection; the least of three readings. */
  async function heapUsed(): Promise<number> {
    const readings: number[] = [];
    for (let i = 0; i < 3; i++) {
      sipedge.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 300));
      readings.push(await metricValue(metrics, 'sipedge_edge_nodejs_heap_size_used_bytes'));
    }
    return Math.min(...readings);
  }

  beforeAll(async () => {
    port = await freePort();
    const http = `127.0.0.1:${await freePort()}`;
    metrics = `http://${http}/metrics`;
    const script = roleScript('all');
    sipedge = await startProcess(
      'sipedge all',
      nodeCommand({
        ...script,
        execArgv: [...script.execArgv, '--expose-gc', '--import', `${root}test/support/gc-on-signal.ts`],
      }),
      {
        SIPEDGE_UDP: `127.0.0.1:${port}`,
        SIPEDGE_TCP: `127.0.0.1:${port}`,
        SIPEDGE_ADVERTISED: `127.0.0.1:${port}`,
        SIPEDGE_HTTP: http,
        SIPEDGE_TRUSTED: '127.0.0.1/32',
        SIPEDGE_RATE_LIMIT_TRUSTED: '127.0.0.1/32',
      },
      'sipedge standalone: ready',
    );
  });

  afterAll(async () => {
    await sipedge?.stop();
  });

  it('grows the heap by under 40 MB, then by under 3 MB once full, and still answers an OPTIONS', async () => {
    // Warm up every code path the flood takes, from sources the rounds do not use.
    await optionsRoundTripUdp(port);
    await flood(port, WARM_UP.from, WARM_UP.from + WARM_UP.sources, Date.now() + ROUND_DEADLINE_MS);
    let heap = await heapUsed();
    let first = 0;
    const results = [];
    for (const round of ROUNDS) {
      const handledBefore = await handledBy(metrics);
      const started = Date.now();
      const answered = await flood(port, first, first + round.sources, started + ROUND_DEADLINE_MS);
      const ms = Date.now() - started;
      const handled = (await handledBy(metrics)) - handledBefore;
      const heapBefore = heap;
      heap = await heapUsed();
      results.push({ ...round, answered, ms, handled, heapBefore, heapAfter: heap });
      first += round.sources;
    }
    const answeredInMs = await optionsRoundTripUdp(port);

    const mb = (bytes: number) => (bytes / MB).toFixed(1);
    for (const [i, r] of results.entries()) {
      process.stdout.write(
        `udp garbage, round ${i + 1}: ${r.sources} new sources in ${r.ms} ms, ${r.answered} answered, ` +
          `${r.handled} datagrams handled by the edge; heap after GC ${mb(r.heapBefore)} → ${mb(r.heapAfter)} MB ` +
          `(${r.heapAfter >= r.heapBefore ? '+' : ''}${mb(r.heapAfter - r.heapBefore)}, bound +${mb(r.heapGrowthBound)})\n`,
      );
    }
    process.stdout.write(`udp garbage: an OPTIONS afterwards was answered in ${answeredInMs.toFixed(1)} ms\n`);
    for (const r of results) {
      expect(r.ms).toBeLessThan(ROUND_DEADLINE_MS);
      // Every source reached the edge: its answer came back (and both its datagrams were handled).
      expect(r.answered).toBeGreaterThan(0.99 * r.sources);
      expect(r.handled).toBeGreaterThan(0.99 * 2 * r.sources);
      expect(r.heapAfter - r.heapBefore).toBeLessThan(r.heapGrowthBound);
    }
  });
});
