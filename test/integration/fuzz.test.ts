/**
 * Issue 14 acceptance: a malformed-message fuzz run against a real `sipedge all` process
 * (standalone). Thousands of generated mutations of valid requests and responses
 * (support/sip-mutations.ts, support/fuzz-seeds.ts) go over UDP (one datagram per case) and TCP
 * (several cases per connection, some connections cut in the middle of a message), from lanes on
 * their own loopback addresses (support/fuzz-run.ts). Throughout, and for every case:
 *
 * - the process stays up, and afterwards answers a valid OPTIONS with 200 over UDP and over TCP;
 * - every byte that comes back is a well-formed SIP response (validated by libs/sip; status
 *   100–699; Via, From, To, Call-ID, CSeq; over TCP framed by the StreamFramer, CRLF pongs
 *   excepted) — never a request, so no request start line is ever echoed;
 * - responses are never answered (§18.1.2, §16.11): lanes that send only responses hear nothing;
 * - what sipedge forwards to the sink UAS (support/sink-uas.ts) parses;
 * - the process prints no line that means a crash or a bug (`isBugLine`).
 *
 * Nothing leaves loopback: hosts in the seeds are loopback addresses, only one lane is trusted to
 * relay to other domains (the others get 403), and the loopback guard (support/loopback-guard.ts)
 * replaces any case that would make sipedge send anywhere but the sender, the sink or itself.
 * The run is decided by the fast-check seed (fixed under CI, FC_SEED to choose one), printed in
 * the summary and in every failure; FC_RUNS_SCALE scales the cases for a longer soak.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { FuzzRun } from '../support/fuzz-run.js';
import { LogWatch, jsonLine, levelOf } from '../support/log-watch.js';
import { TcpClient, UdpClient, sipRequest } from '../support/sip-client.js';
import { SinkUas } from '../support/sink-uas.js';

/** Scales the cases and the time budget, for a longer soak: `FC_RUNS_SCALE=10`. */
const SCALE = Number(process.env.FC_RUNS_SCALE ?? 1) || 1;
/** Cases per lane: four request lanes and one response lane per transport. */
const UDP_REQUEST_CASES = Math.round(900 * SCALE);
const UDP_RESPONSE_CASES = Math.round(500 * SCALE);
const TCP_REQUEST_CASES = Math.round(700 * SCALE);
const TCP_RESPONSE_CASES = Math.round(350 * SCALE);
const REQUEST_LANES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
/** The last request lane is trusted: it may relay, and its context-less ACK and CANCEL are forwarded. */
const TRUSTED_LANE = '127.0.0.5';
const RESPONSE_LANE = '127.0.0.6';
/** SIPEDGE_MAX_MESSAGE_SIZE: larger datagrams get 513, larger stream messages close the connection. */
const MAX_MESSAGE_SIZE = 8192;
/** No lane starts a case after this long. */
const SENDING_BUDGET_MS = 75_000 * SCALE;

/**
 * Lines that mean a crash or a bug: any error or fatal log line (the edge's `receive path failed`,
 * `transport: handler threw`, the worker's `inbound message failed`, a timer handler that failed),
 * a handler failure the bus caught, a hand-off the worker could not parse although the edge had
 * validated it, and anything that is not a log line but reads like an uncaught exception.
 */
const BUG_MESSAGES = new Set(['bus: handler failed', 'unparseable hand-off dropped']);
function isBugLine(line: string): boolean {
  const entry = jsonLine(line);
  if (entry === undefined) return /Error|Uncaught|Unhandled|^\s+at /.test(line);
  return levelOf(entry) >= 50 || BUG_MESSAGES.has(String(entry.msg));
}

/** The seed of this run: the global one (CI, FC_SEED) or a new one. */
const SEED = fc.readConfigureGlobal().seed ?? Math.floor(Math.random() * 2 ** 31);
const REPRODUCE = `fuzz seed ${SEED}: FC_SEED=${SEED} npx vitest run test/integration/fuzz.test.ts`;

describe('fuzz: malformed messages against sipedge all (standalone)', () => {
  let deployment: Deployment;
  let sink: SinkUas;
  let log: LogWatch;
  let exitedWith: string | undefined;

  beforeAll(async () => {
    sink = await SinkUas.start();
    deployment = await startDeployment('standalone', {
      env: {
        SIPEDGE_DOMAINS: '127.0.0.1',
        // Only one lane may relay to other domains; the others' foreign targets get 403.
        SIPEDGE_TRUSTED: `${TRUSTED_LANE}/32`,
        SIPEDGE_MAX_MESSAGE_SIZE: String(MAX_MESSAGE_SIZE),
        SIPEDGE_FLEET_SECRET: 'fuzz-run-fleet-secret-0123456789abcdef',
        LOG_LEVEL: 'info',
      },
    });
    const [all] = deployment.processes();
    log = new LogWatch(all!, isBugLine);
    all!.child.once('exit', (code, signal) => (exitedWith = String(signal ?? code)));
  });

  afterAll(async () => {
    await deployment?.stop();
    await sink?.stop();
  });

  it(
    'stays up, answers only with well-formed responses, never answers a response',
    async () => {
      const started = Date.now();
      const run = new FuzzRun({
        seed: SEED,
        proxyPort: deployment.port,
        sinkPort: sink.port,
        maxMessageSize: MAX_MESSAGE_SIZE,
        flowUser: 'dave',
        callee: 'carol',
        deadline: started + SENDING_BUDGET_MS,
        udpTiming: { quietMs: 30, maxMs: 500 },
        tcpTiming: { quietMs: 25, maxMs: 500 },
      });
      const lanes = (count: number, responses: number) => [
        ...REQUEST_LANES.map((address, index) => ({ address, index, count, onlyResponses: false })),
        { address: RESPONSE_LANE, index: REQUEST_LANES.length, count: responses, onlyResponses: true },
      ];
      await Promise.all([
        ...lanes(UDP_REQUEST_CASES, UDP_RESPONSE_CASES).map((lane) => run.udpLane(lane)),
        ...lanes(TCP_REQUEST_CASES, TCP_RESPONSE_CASES).map((lane) => run.tcpLane({ ...lane, index: 10 + lane.index })),
      ]);
      for (const problem of sink.problems) run.violation('sink', `sipedge forwarded what does not parse: ${problem}`);
      const afterwards = exitedWith === undefined ? await optionsAnswers(deployment.port) : { udp: 0, tcp: 0 };

      const warnings = [...log.warnings].map(([msg, n]) => `${msg}×${n}`).join(', ');
      process.stdout.write(
        `fuzz seed=${SEED}: ${run} · sink got ${sink.requests} requests · ${log.lines} log lines ` +
          `(${warnings || 'no warnings'}) · ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      expect(exitedWith, `sipedge exited (${REPRODUCE})`).toBeUndefined();
      expect(run.violations, `${run.violationCount} violations (${REPRODUCE})`).toEqual([]);
      expect(log.flagged, `${log.flaggedCount} log lines that mean a crash or a bug (${REPRODUCE})`).toEqual([]);
      expect(afterwards, `a valid OPTIONS after the run (${REPRODUCE})`).toEqual({ udp: 200, tcp: 200 });
      expect(run.cases.udp, REPRODUCE).toBeGreaterThanOrEqual(3000);
      expect(run.cases.tcp, REPRODUCE).toBeGreaterThanOrEqual(2000);
    },
    SENDING_BUDGET_MS + 45_000,
  );
});

/** The status of a valid OPTIONS to the proxy from a fresh client, over UDP and over TCP (0: no answer). */
async function optionsAnswers(port: number): Promise<{ udp: number; tcp: number }> {
  const options = (transport: string, client: number, callId: string) =>
    sipRequest('OPTIONS', {
      uri: `sip:127.0.0.1:${port}`,
      via: `SIP/2.0/${transport} 127.0.0.1:${client};branch=z9hG4bK-${callId}`,
      callId,
    });
  const statusOf = (data: Buffer) => Number(/^SIP\/2\.0 (\d{3})/.exec(data.toString('latin1'))?.[1] ?? 0);
  const udpClient = await UdpClient.open();
  const tcpClient = await TcpClient.open(port);
  try {
    await udpClient.send(options('UDP', udpClient.port, 'after-udp'), port);
    const udp = await udpClient.nth(1, 5000).then(
      ({ data }) => statusOf(data),
      () => 0,
    );
    tcpClient.write(options('TCP', tcpClient.socket.localPort!, 'after-tcp'));
    const tcp = await tcpClient.waitFor((data) => statusOf(data) !== 0, 5000).then(statusOf, () => 0);
    return { udp, tcp };
  } finally {
    udpClient.close();
    tcpClient.close();
  }
}
