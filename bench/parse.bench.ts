/**
 * Parse + serialise throughput of @sipedge/sip next to the npm package `sip` (kirm/sip.js 0.0.6),
 * on the same bytes in the same process, and a correctness report on the torture messages.
 *
 *   npm run bench:parse                 full run (about a minute)
 *   npm run bench:parse -- --quick      shorter time budgets (numbers are noisier)
 *   npm run bench:parse -- --no-json    do not write bench/results/parse.json
 *
 * Variants, timed in interleaved rounds (best round reported) on a Buffer as a socket delivers it:
 *   round trip   sipedge: parseMessage(buf).toBuffer()
 *                sip:     Buffer.from(sip.stringify(sip.parse(buf)), 'binary')  (as sip.js sends over UDP)
 *   proxy touch  the above plus what a stateless proxy does: read Via/From/To/CSeq/Call-ID, add a Via
 *                and decrement Max-Forwards (requests) or drop the top Via (responses).
 */
import { writeResultJson } from './support/results.js';
// @ts-expect-error -- sip 0.0.6 ships no type declarations; it is typed by SipJs below.
import sipModule from 'sip';
import { SipParseError, StreamFramer, parseMessage } from '@sipedge/sip';
import { TYPICAL_INVITE, type TortureMessage, tortureMessages } from './corpus.js';

// ---- the `sip` package, as far as used here ----------------------------------------------------------

interface SipJsVia {
  version: string;
  protocol: string;
  host: string;
  port?: number;
  params: Record<string, string | null>;
}

interface SipJsMessage {
  method?: string;
  status?: number;
  headers: Record<string, unknown>;
  content?: string;
}

interface SipJs {
  parse(data: Buffer | string): SipJsMessage | undefined;
  stringify(message: SipJsMessage): string;
}

const sip = sipModule as SipJs;

// ---- options ------------------------------------------------------------------------------------------

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const WRITE_JSON = !args.has('--no-json');
/** Timed rounds per case; each variant's best round is reported. */
const ROUNDS = 5;

interface Budget {
  /** Upper bound on messages per timed run. */
  maxMessages: number;
  /** Upper bound on wall time per timed run. */
  maxMs: number;
  warmupMs: number;
}

const MAIN: Budget = QUICK
  ? { maxMessages: 200_000, maxMs: 600, warmupMs: 200 }
  : { maxMessages: 2_000_000, maxMs: 3000, warmupMs: 1000 };
const PER_MESSAGE: Budget = QUICK
  ? { maxMessages: 20_000, maxMs: 60, warmupMs: 20 }
  : { maxMessages: 100_000, maxMs: 250, warmupMs: 80 };

// ---- the variants -------------------------------------------------------------------------------------

const PROXY_BRANCH = 'z9hG4bK-bench-5f2a90c1';
const PROXY_VIA = `SIP/2.0/UDP 192.0.2.10:5060;branch=${PROXY_BRANCH}`;

type Run = (buf: Buffer) => number;

const sipedgeRoundTrip: Run = (buf) => parseMessage(buf).toBuffer().length;

const sipedgeProxy: Run = (buf) => {
  const m = parseMessage(buf);
  let n = m.vias.length + m.cseq.seq + m.callId.length;
  n += m.from.tag?.length ?? 0;
  n += m.to.tag?.length ?? 0;
  if (m.isRequest) {
    m.prepend('Via', PROXY_VIA);
    const mf = m.maxForwards;
    if (mf !== undefined) m.set('Max-Forwards', String(Math.max(0, mf - 1)));
  } else {
    m.removeFirst('Via');
  }
  return n + m.toBuffer().length;
};

const sipRoundTrip: Run = (buf) => {
  const m = sip.parse(buf);
  if (m === undefined) throw new Error('sip.parse returned undefined');
  return Buffer.from(sip.stringify(m), 'binary').length;
};

const sipProxy: Run = (buf) => {
  const m = sip.parse(buf);
  if (m === undefined) throw new Error('sip.parse returned undefined');
  const h = m.headers;
  const vias = h['via'] as SipJsVia[];
  const cseq = h['cseq'] as { seq: number };
  const from = h['from'] as { params: Record<string, string | null> };
  const to = h['to'] as { params: Record<string, string | null> };
  let n = vias.length + cseq.seq + String(h['call-id']).length;
  n += from.params['tag']?.length ?? 0;
  n += to.params['tag']?.length ?? 0;
  if (m.method !== undefined) {
    vias.unshift({ version: '2.0', protocol: 'UDP', host: '192.0.2.10', port: 5060, params: { branch: PROXY_BRANCH } });
    const mf = h['max-forwards'];
    if (mf !== undefined) h['max-forwards'] = String(Math.max(0, Number(mf) - 1));
  } else {
    vias.shift();
  }
  return n + Buffer.from(sip.stringify(m), 'binary').length;
};

// ---- timing -------------------------------------------------------------------------------------------

interface Timing {
  /** Messages in the best round. */
  messages: number;
  seconds: number;
  /** Throughput of the best round (rounds only get slower under outside load). */
  perSecond: number;
  microsPerMessage: number;
  /** Throughput of every round, in order. */
  rounds: number[];
}

let sink = 0;

/** Runs `run` over `inputs` round-robin until `ms` elapsed or `maxMessages` were done. */
function timedRun(
  run: Run,
  inputs: readonly Buffer[],
  maxMessages: number,
  ms: number,
): { messages: number; seconds: number } {
  const batch = Math.max(16, inputs.length);
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  let messages = 0;
  while (messages < maxMessages && now < deadline) {
    for (let k = 0; k < batch; k++) sink += run(inputs[(messages + k) % inputs.length]!);
    messages += batch;
    now = process.hrtime.bigint();
  }
  return { messages, seconds: Number(now - start) / 1e9 };
}

function warmUp(run: Run, inputs: readonly Buffer[], ms: number): void {
  timedRun(run, inputs, Number.MAX_SAFE_INTEGER, ms);
}

/**
 * Times the variants of a case in interleaved rounds (A B C D, A B C D, ...) so that a burst of
 * outside load hits all of them alike; each variant's total is bounded by `budget.maxMessages`
 * messages and `budget.maxMs` ms. Reports each variant's best round.
 */
function measureAll(runs: readonly Run[], inputs: readonly Buffer[], budget: Budget): Timing[] {
  for (const run of runs) warmUp(run, inputs, budget.warmupMs);
  const results = runs.map((): { best: { messages: number; seconds: number } | null; rounds: number[] } => ({
    best: null,
    rounds: [],
  }));
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((run, i) => {
      const r = timedRun(run, inputs, budget.maxMessages / ROUNDS, budget.maxMs / ROUNDS);
      const slot = results[i]!;
      slot.rounds.push(r.messages / r.seconds);
      if (slot.best === null || r.messages / r.seconds > slot.best.messages / slot.best.seconds) slot.best = r;
    });
  }
  return results.map(({ best, rounds }) => {
    const { messages, seconds } = best!;
    return {
      messages,
      seconds,
      perSecond: messages / seconds,
      microsPerMessage: (seconds * 1e6) / messages,
      rounds: rounds.map(Math.round),
    };
  });
}

interface CaseResult {
  case: string;
  messages: number;
  bytes: number;
  sipedge: Timing;
  sip: Timing;
  ratio: number;
  sipedgeProxy: Timing;
  sipProxy: Timing;
  proxyRatio: number;
}

function runCase(name: string, inputs: readonly Buffer[], budget: Budget): CaseResult {
  const [sipedge, sipResult, edgeProxy, sipProxyResult] = measureAll(
    [sipedgeRoundTrip, sipRoundTrip, sipedgeProxy, sipProxy],
    inputs,
    budget,
  ) as [Timing, Timing, Timing, Timing];
  return {
    case: name,
    messages: inputs.length,
    bytes: Math.round(inputs.reduce((n, b) => n + b.length, 0) / inputs.length),
    sipedge,
    sip: sipResult,
    ratio: sipedge.perSecond / sipResult.perSecond,
    sipedgeProxy: edgeProxy,
    sipProxy: sipProxyResult,
    proxyRatio: edgeProxy.perSecond / sipProxyResult.perSecond,
  };
}

// ---- correctness --------------------------------------------------------------------------------------

type SipOutcome = 'throws' | 'undefined' | 'lossy' | 'exact';

interface Correctness {
  id: string;
  class: string;
  /** What a byte-exact forwarder must send: the message without leading CRLFs and trailing octets. */
  expectedBytes: number;
  sipedge: 'exact' | 'lossy' | 'rejected';
  sipedgeError?: string;
  sip: SipOutcome;
  sipError?: string;
  /** sip's output length minus the expected length. */
  sipByteDelta?: number;
  /**
   * Headers whose number of values (rows split at list commas, read by sipedge) differs between the
   * message and sip's output, as `key before→after`: values lost, merged or invented by the round trip.
   */
  sipHeaderCountChanges?: string[];
  sipBodyKept?: boolean;
  /** Whether the proxy touch works with sip on this message. */
  sipProxyOk: boolean;
}

/** Header keys and the number of values per key, read by sipedge without validation. */
function headerCensus(bytes: Buffer): Map<string, number> | null {
  try {
    const m = parseMessage(bytes, { validate: false });
    const census = new Map<string, number>();
    for (const row of m.rows) if (!census.has(row.key)) census.set(row.key, m.values(row.key).length);
    return census;
  } catch (e) {
    if (e instanceof SipParseError) return null;
    throw e;
  }
}

function checkCorrectness(t: TortureMessage): Correctness {
  let expected: Buffer | null = null;
  const result: Correctness = {
    id: t.id,
    class: t.class,
    expectedBytes: 0,
    sipedge: 'rejected',
    sip: 'exact',
    sipProxyOk: false,
  };
  try {
    const m = parseMessage(t.bytes);
    expected = m.toBuffer();
    const start = t.bytes.indexOf(expected);
    result.sipedge =
      start >= 0 && t.bytes.subarray(start, start + expected.length).equals(expected) ? 'exact' : 'lossy';
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    result.sipedgeError = `${e.code}: ${e.reason}`;
  }
  expected ??= t.bytes;
  result.expectedBytes = expected.length;

  let parsed: SipJsMessage | undefined;
  try {
    parsed = sip.parse(t.bytes);
  } catch (e) {
    result.sip = 'throws';
    result.sipError = e instanceof Error ? e.message : String(e);
    return result;
  }
  if (parsed === undefined) {
    result.sip = 'undefined';
    return result;
  }
  const body = parsed.content ?? '';
  let out: Buffer;
  try {
    out = Buffer.from(sip.stringify(parsed), 'binary');
  } catch (e) {
    result.sip = 'throws';
    result.sipError = `stringify: ${e instanceof Error ? e.message : String(e)}`;
    return result;
  }
  result.sip = out.equals(expected) ? 'exact' : 'lossy';
  result.sipByteDelta = out.length - expected.length;
  const expectedBody = parseBody(expected);
  result.sipBodyKept = expectedBody !== null && Buffer.from(body, 'binary').equals(expectedBody);
  const before = headerCensus(expected);
  const after = headerCensus(out);
  if (before !== null) {
    const changes: string[] = [];
    for (const key of new Set([...before.keys(), ...(after?.keys() ?? [])])) {
      const a = before.get(key) ?? 0;
      const b = after?.get(key) ?? 0;
      if (a !== b) changes.push(`${key} ${a}→${b}`);
    }
    result.sipHeaderCountChanges = after === null ? ['output unparseable'] : changes;
  }
  try {
    sipProxy(t.bytes);
    result.sipProxyOk = true;
  } catch {
    result.sipProxyOk = false;
  }
  return result;
}

function parseBody(bytes: Buffer): Buffer | null {
  try {
    return parseMessage(bytes, { validate: false }).body;
  } catch (e) {
    if (e instanceof SipParseError) return null;
    throw e;
  }
}

// ---- output -------------------------------------------------------------------------------------------

const out = (s = '') => process.stdout.write(`${s}\n`);
const fmtRate = (n: number) => Math.round(n).toLocaleString('en-US');
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function printTable(rows: CaseResult[]): void {
  const width = Math.max(28, ...rows.map((r) => r.case.length + 1));
  out(
    `${pad('case', width)}${lpad('bytes', 7)}${lpad('sipedge msg/s', 15)}${lpad('sip msg/s', 12)}${lpad('ratio', 8)}` +
      `${lpad('sipedge+proxy', 15)}${lpad('sip+proxy', 12)}${lpad('ratio', 8)}`,
  );
  out('-'.repeat(width + 7 + 15 + 12 + 8 + 15 + 12 + 8));
  for (const r of rows) {
    out(
      `${pad(r.case, width)}${lpad(String(r.bytes), 7)}${lpad(fmtRate(r.sipedge.perSecond), 15)}` +
        `${lpad(fmtRate(r.sip.perSecond), 12)}${lpad(`${r.ratio.toFixed(2)}x`, 8)}` +
        `${lpad(fmtRate(r.sipedgeProxy.perSecond), 15)}${lpad(fmtRate(r.sipProxy.perSecond), 12)}` +
        `${lpad(`${r.proxyRatio.toFixed(2)}x`, 8)}`,
    );
  }
}

function geomean(values: number[]): number {
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

// ---- main ---------------------------------------------------------------------------------------------

/** Inputs that once took quadratic time (folds, a trickled TCP body) and other large ones. */
function pathologicalInputs(): { name: string; bytes: number; ms: number }[] {
  const head =
    'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n' +
    'To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n';
  const time = (name: string, bytes: number, f: () => void) => {
    const start = process.hrtime.bigint();
    f();
    return { name, bytes, ms: Number(process.hrtime.bigint() - start) / 1e6 };
  };
  const datagram = (name: string, text: string) => {
    const bytes = Buffer.from(text, 'latin1');
    return time(name, bytes.length, () => parseMessage(bytes));
  };
  const trickled = () => {
    const body = 30_000;
    const message = Buffer.from(
      `${head}${'X-A: b\r\n'.repeat(3000)}Content-Length: ${body}\r\n\r\n${'a'.repeat(body)}`,
      'latin1',
    );
    return time('TCP: 24 KB header, 30,000-byte body in 10-byte reads', message.length, () => {
      const framer = new StreamFramer();
      for (let i = 0; i < message.length; i += 10) framer.push(message.subarray(i, i + 10));
    });
  };
  return [
    datagram('16,000 folded continuation lines', `${head}X: a${'\r\n a'.repeat(16000)}\r\n\r\n`),
    datagram('7,000 header rows', `${head}${'X-A: b\r\n'.repeat(7000)}\r\n`),
    datagram(
      '1,900 Via values in one row',
      `${head.replace('Via: ', `Via: ${'SIP/2.0/UDP h;branch=z9hG4bK1,'.repeat(1900)}`)}\r\n`,
    ),
    datagram(
      '25,000 Request-URI parameters',
      `${head.replace('OPTIONS sip:a@b', `OPTIONS sip:a@b${';x'.repeat(25000)}`)}\r\n`,
    ),
    trickled(),
  ];
}

async function main(): Promise<void> {
  out(`parse.bench: node ${process.version}, ${QUICK ? 'quick' : 'full'} run`);
  out(
    `budget per variant and case: ≤ ${MAIN.maxMessages.toLocaleString('en-US')} messages and ≤ ${MAIN.maxMs} ms ` +
      `(per torture message: ≤ ${PER_MESSAGE.maxMessages.toLocaleString('en-US')} and ≤ ${PER_MESSAGE.maxMs} ms), ` +
      `after warm-up, in ${ROUNDS} interleaved rounds; msgs/s = best round`,
  );
  out();

  const all = tortureMessages();
  const valid = all.filter((t) => t.class.startsWith('valid'));
  const correctness = valid.map(checkCorrectness);
  const bothHandle = valid.filter((t, i) => {
    const c = correctness[i]!;
    return c.sipedge !== 'rejected' && (c.sip === 'exact' || c.sip === 'lossy') && c.sipProxyOk;
  });

  // Sanity: every variant runs on the typical INVITE and sipedge round-trips it byte-exact.
  if (!parseMessage(TYPICAL_INVITE).toBuffer().equals(TYPICAL_INVITE))
    throw new Error('typical INVITE does not round-trip');
  for (const run of [sipedgeRoundTrip, sipedgeProxy, sipRoundTrip, sipProxy]) run(TYPICAL_INVITE);

  const results: CaseResult[] = [];
  results.push(runCase('typical INVITE + SDP', [TYPICAL_INVITE], MAIN));
  results.push(
    runCase(
      `torture valid, all ${bothHandle.length}`,
      bothHandle.map((t) => t.bytes),
      MAIN,
    ),
  );
  const perMessage = bothHandle.map((t) => runCase(`  ${t.id}`, [t.bytes], PER_MESSAGE));

  out('Throughput (messages/s; ratio = sipedge / sip)');
  printTable([...results, ...perMessage]);
  out();
  const invite = results[0]!;
  out(
    `typical INVITE (${TYPICAL_INVITE.length} bytes): sipedge ${invite.sipedge.microsPerMessage.toFixed(2)} µs ` +
      `(proxy touch ${invite.sipedgeProxy.microsPerMessage.toFixed(2)} µs), ` +
      `sip ${invite.sip.microsPerMessage.toFixed(2)} µs (proxy touch ${invite.sipProxy.microsPerMessage.toFixed(2)} µs)`,
  );
  out(
    `geometric mean of per-message ratios: round trip ${geomean(perMessage.map((r) => r.ratio)).toFixed(2)}x, ` +
      `proxy touch ${geomean(perMessage.map((r) => r.proxyRatio)).toFixed(2)}x`,
  );
  const target = 3;
  const met = (r: number) => (r >= target ? 'met' : 'NOT met');
  out(
    `target sipedge ≥ ${target}x sip: typical INVITE round trip ${met(invite.ratio)} (${invite.ratio.toFixed(2)}x), ` +
      `proxy touch ${met(invite.proxyRatio)} (${invite.proxyRatio.toFixed(2)}x); ` +
      `torture set round trip ${met(results[1]!.ratio)} (${results[1]!.ratio.toFixed(2)}x)`,
  );
  // Lazy parse: start line and rows only, typed values parsed when first read (what a hop that
  // routes on a few headers pays). Interleaved with sip under the same budget.
  const sipedgeLazy: Run = (buf) => parseMessage(buf, { validate: false }).toBuffer().length;
  const [lazy, sipLazyBaseline] = measureAll([sipedgeLazy, sipRoundTrip], [TYPICAL_INVITE], MAIN);
  const lazyRatio = lazy!.perSecond / sipLazyBaseline!.perSecond;
  out(
    `typical INVITE, lazy parse (no validation) + serialise: sipedge ${fmtRate(lazy!.perSecond)} msg/s, ` +
      `sip ${fmtRate(sipLazyBaseline!.perSecond)} msg/s, ratio ${lazyRatio.toFixed(2)}x (target ${met(lazyRatio)})`,
  );
  out();
  out('Pathological inputs (one run each; time must grow linearly with size)');
  const pathological = pathologicalInputs();
  for (const p of pathological)
    out(`  ${pad(p.name, 58)}${lpad(String(p.bytes), 7)} bytes ${lpad(p.ms.toFixed(1), 8)} ms`);
  out();

  out(`Correctness on the ${valid.length} valid torture messages (round trip = parse + serialise)`);
  out(
    `${pad('message', 46)}${pad('sipedge', 10)}${pad('sip', 11)}${lpad('Δbytes', 8)}  ${pad('body', 6)}` +
      'header value counts changed by sip',
  );
  out('-'.repeat(110));
  for (const c of correctness) {
    const counts = c.sipHeaderCountChanges === undefined ? '' : c.sipHeaderCountChanges.join(', ') || 'none';
    out(
      `${pad(c.id, 46)}${pad(c.sipedge, 10)}${pad(c.sip, 11)}${lpad(c.sipByteDelta === undefined ? '' : String(c.sipByteDelta), 8)}  ` +
        `${pad(c.sipBodyKept === undefined ? '' : c.sipBodyKept ? 'same' : 'DIFF', 6)}${counts}` +
        `${c.sipError === undefined ? '' : `  [${c.sipError.slice(0, 60)}]`}${c.sipedgeError === undefined ? '' : `  [sipedge: ${c.sipedgeError}]`}`,
    );
  }
  const count = (f: (c: Correctness) => boolean) => correctness.filter(f).length;
  out();
  out(
    `sipedge: ${count((c) => c.sipedge === 'exact')}/${valid.length} byte-exact round trips, ` +
      `${count((c) => c.sipedge === 'rejected')} rejected`,
  );
  out(
    `sip:     ${count((c) => c.sip === 'exact')}/${valid.length} byte-exact, ` +
      `${count((c) => c.sip === 'lossy')} changed on round trip, ` +
      `${count((c) => c.sip === 'undefined')} parse returned undefined, ${count((c) => c.sip === 'throws')} threw; ` +
      `${count((c) => (c.sipHeaderCountChanges?.length ?? 0) > 0)} with header values lost/merged/invented, ` +
      `${count((c) => c.sipBodyKept === false)} with a different body, ` +
      `${count((c) => !c.sipProxyOk)} failed the proxy touch`,
  );

  // Invalid messages sip accepts without complaint (sipedge rejects them with a SipParseError).
  const invalid = all.filter((t) => !t.class.startsWith('valid') && !t.class.startsWith('accept'));
  const accepted = invalid.filter((t) => {
    try {
      return sip.parse(t.bytes) !== undefined;
    } catch {
      return false;
    }
  });
  const rejectedBySipedge = invalid.filter((t) => {
    try {
      parseMessage(t.bytes);
      return false;
    } catch (e) {
      if (e instanceof SipParseError) return true;
      throw e;
    }
  });
  out(
    `invalid torture messages: sipedge rejects ${rejectedBySipedge.length}/${invalid.length}` +
      ` (accepts: ${
        invalid
          .filter((t) => !rejectedBySipedge.includes(t))
          .map((t) => t.id.split('/')[1])
          .join(', ') || 'none'
      }); ` +
      `sip.parse returns a message for ${accepted.length}/${invalid.length} (${accepted.map((t) => t.id.split('/')[1]).join(', ')})`,
  );

  if (WRITE_JSON) {
    const file = await writeResultJson('parse.json', {
      date: new Date().toISOString(),
      node: process.version,
      quick: QUICK,
      budgets: { main: MAIN, perMessage: PER_MESSAGE },
      throughput: [...results, ...perMessage].map((r) => ({ ...r, case: r.case.trim() })),
      lazy: { sipedge: lazy, sip: sipLazyBaseline, ratio: lazyRatio },
      pathological,
      correctness,
      invalidAcceptedBySip: accepted.map((t) => t.id),
    });
    out(`\nwrote ${file}`);
  }
  if (sink === 0.5) out('unreachable');
}

await main();
