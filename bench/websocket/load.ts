/**
 * The load of the WSS benchmark: connections opened and registered in batches, each batch bounded
 * in time, with the edge's CPU read between the two halves of every batch (TLS + upgrade, then
 * REGISTER → 200), so that each half's cost is known; then all of them held with keep-alives.
 */
import { type ClientCounts, WssRegistrant } from './client.js';
import type { RunningSipedge } from './sipedge.js';

/** Connections from one loopback source address: under the edge's per-source limit (SIPEDGE_MAX_CONNECTIONS_PER_SOURCE, 256). */
export const CONNECTIONS_PER_SOURCE = 100;
/** How long a connection may take to open, and a REGISTER to be answered. */
export const STEP_TIMEOUT_MS = 10_000;
/** The domain of every AOR: the edge's own address, which the standalone registrar serves. */
const DOMAIN = '127.0.0.1';

/** The loopback address client `i` connects from: 127.10.0.1 onwards, a new one every CONNECTIONS_PER_SOURCE clients. */
export function sourceAddress(i: number): string {
  const n = Math.floor(i / CONNECTIONS_PER_SOURCE) + 1;
  return `127.${10 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export interface OpenResult {
  /** Open and registered (200): the connections held. */
  registered: WssRegistrant[];
  /** ms from `new WebSocket` to open (TCP + TLS + HTTP upgrade), per opened connection. */
  connectMs: number[];
  /** ms from REGISTER sent to its 200, per registered connection. */
  registerMs: number[];
  /** The edge's CPU seconds in the opening halves of the batches, and in the registering halves. */
  connectCpuSeconds: number;
  registerCpuSeconds: number;
  wallMs: number;
  /** Connections that did not open, REGISTERs not answered 200: the first reasons, with counts. */
  failures: Map<string, number>;
  failed: number;
}

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/**
 * Opens clients `first` … `first + count − 1` in batches of `batch` (all of a batch at once), each
 * REGISTERing user<i> once its batch is open. `track` receives every connection opened, for
 * clean-up. Stops early when a whole batch fails (the edge is gone or refuses everything).
 */
export async function openAndRegister(
  sipedge: RunningSipedge,
  options: { first: number; count: number; batch: number; user: (i: number) => string },
  track: (client: WssRegistrant) => void,
): Promise<OpenResult> {
  const result: OpenResult = {
    registered: [],
    connectMs: [],
    registerMs: [],
    connectCpuSeconds: 0,
    registerCpuSeconds: 0,
    wallMs: 0,
    failures: new Map(),
    failed: 0,
  };
  const fail = (why: string) => {
    result.failed++;
    result.failures.set(why, (result.failures.get(why) ?? 0) + 1);
  };
  const started = process.hrtime.bigint();
  const end = options.first + options.count;
  for (let from = options.first; from < end; from += options.batch) {
    const indexes = Array.from({ length: Math.min(options.batch, end - from) }, (_, k) => from + k);
    const cpuBefore = sipedge.cpuSeconds();
    const opened = await Promise.all(
      indexes.map(async (i) => {
        const t = process.hrtime.bigint();
        try {
          const client = await WssRegistrant.open({
            url: sipedge.wssUrl,
            ca: sipedge.ca,
            localAddress: sourceAddress(i),
            timeoutMs: STEP_TIMEOUT_MS,
          });
          track(client);
          result.connectMs.push(since(t));
          return { i, client };
        } catch (error) {
          fail(`connect: ${(error as Error).message}`);
          return undefined;
        }
      }),
    );
    const cpuOpened = sipedge.cpuSeconds();
    const registered = await Promise.all(
      opened.map(async (entry) => {
        if (entry === undefined) return false;
        const t = process.hrtime.bigint();
        const status = await entry.client.register(options.user(entry.i), DOMAIN, STEP_TIMEOUT_MS);
        if (status !== 200) {
          fail(status === 0 ? 'REGISTER: no final response (timeout or connection closed)' : `REGISTER: ${status}`);
          return false;
        }
        result.registerMs.push(since(t));
        result.registered.push(entry.client);
        return true;
      }),
    );
    result.connectCpuSeconds += cpuOpened - cpuBefore;
    result.registerCpuSeconds += sipedge.cpuSeconds() - cpuOpened;
    if (!registered.includes(true)) {
      fail(`batch from client ${from} failed entirely: not opening more`);
      break;
    }
  }
  result.wallMs = since(started);
  return result;
}

/** Totals over the held connections' counts, and the fewest pings any one saw. */
export interface HoldCounts {
  pings: number;
  fewestPings: number;
  keepalivesSent: number;
  keepaliveAnswers: number;
  unexpectedMessages: number;
  /** Connections that closed without the benchmark closing them, by close code. */
  closed: Map<number, number>;
}

/** Sums `counts` minus the same clients' counts at `before` (pings and keep-alives of the hold alone). */
export function holdCounts(counts: readonly ClientCounts[], before: readonly ClientCounts[]): HoldCounts {
  const total: HoldCounts = {
    pings: 0,
    fewestPings: Number.POSITIVE_INFINITY,
    keepalivesSent: 0,
    keepaliveAnswers: 0,
    unexpectedMessages: 0,
    closed: new Map(),
  };
  counts.forEach((c, k) => {
    const pings = c.pings - before[k]!.pings;
    total.pings += pings;
    total.fewestPings = Math.min(total.fewestPings, pings);
    total.keepalivesSent += c.keepalivesSent - before[k]!.keepalivesSent;
    total.keepaliveAnswers += c.keepaliveAnswers - before[k]!.keepaliveAnswers;
    total.unexpectedMessages += c.unexpectedMessages;
    if (c.closedUnexpectedly !== undefined) {
      const code = c.closedUnexpectedly.code;
      total.closed.set(code, (total.closed.get(code) ?? 0) + 1);
    }
  });
  if (counts.length === 0) total.fewestPings = 0;
  return total;
}

/**
 * Holds `clients` for `holdMs`: each sends a keep-alive every `keepaliveMs`, the first at a random
 * moment within the first interval (so that they spread out as independent browsers' do). Resolves
 * with the edge's CPU seconds over the hold, then waits up to `answerWaitMs` for the answers to the
 * last keep-alives.
 */
export async function hold(
  sipedge: RunningSipedge,
  clients: readonly WssRegistrant[],
  options: { holdMs: number; keepaliveMs: number; answerWaitMs: number },
): Promise<{ cpuSeconds: number; wallMs: number; counts: HoldCounts }> {
  const before = clients.map((c) => ({ ...c.counts }));
  const cpuBefore = sipedge.cpuSeconds();
  const started = process.hrtime.bigint();
  for (const client of clients) client.startKeepalives(options.keepaliveMs, Math.random() * options.keepaliveMs);
  await new Promise((resolve) => setTimeout(resolve, options.holdMs));
  for (const client of clients) client.stopKeepalives();
  const cpuSeconds = sipedge.cpuSeconds() - cpuBefore;
  const wallMs = since(started);
  const unanswered = () => clients.some((c) => c.open && c.counts.keepaliveAnswers < c.counts.keepalivesSent);
  const waitUntil = Date.now() + options.answerWaitMs;
  while (unanswered() && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    cpuSeconds,
    wallMs,
    counts: holdCounts(
      clients.map((c) => c.counts),
      before,
    ),
  };
}
