/**
 * The call benchmark's harness (npm run bench) on short, slow steps: each system it compares is
 * started as the benchmark starts it, one step is run against it, and what the step reports is
 * checked against what happened.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchTransport } from '../../bench/calls/sipp.js';
import { runStep } from '../../bench/calls/step.js';
import { type RunningSystem, startSystem, type SystemName } from '../../bench/calls/systems.js';
import { measureTakeover } from '../../bench/calls/takeover.js';
import { freePort } from '../support/free-port.js';

const RATE = 20;
const SECONDS = 2;

let running: RunningSystem | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function stepOn(name: SystemName, transport: BenchTransport = 'udp') {
  running = await startSystem(name, { kamailioChildren: 2, transport });
  return runStep(running, RATE, SECONDS, transport);
}

describe('npm run bench: one step per system', () => {
  it('SIPp calling SIPp directly: every call counted, latency and SIPp CPU measured', async () => {
    const step = await stepOn('direct');
    expect(step).toMatchObject({ attempted: 40, succeeded: 40, failed: 0, calleeFailed: 0, clean: true });
    expect(step.setupMs.p50).toBeGreaterThanOrEqual(0);
    expect(step.setupMs.max).toBeGreaterThanOrEqual(step.setupMs.p99);
    expect(step.cpuMsPerCall['sipp uac']).toBeGreaterThan(0);
    expect(step.cpuMsPerCall['sipp uas']).toBeGreaterThan(0);
    expect(step.redisCommandsPerCall).toBeUndefined();
  });

  it('Kamailio as a stateful proxy: calls go through it and its processes’ CPU is counted', async () => {
    const step = await stepOn('kamailio');
    expect(step).toMatchObject({ attempted: 40, succeeded: 40, clean: true });
    expect(step.cpuMsPerCall.kamailio).toBeGreaterThan(0);
  });

  it('sipedge standalone: calls through it, its CPU and its (in-memory) timer lateness', async () => {
    const step = await stepOn('standalone');
    expect(step).toMatchObject({ attempted: 40, succeeded: 40, clean: true });
    expect(step.cpuMsPerCall.sipedge).toBeGreaterThan(0);
    expect(step.timerLatenessMs).toBeDefined();
  });

  // Over TCP the callee's Contact says so: without it, the in-dialog ACK and BYE would go to it
  // over UDP, where it does not listen, and every call would fail.
  it.each(['direct', 'kamailio', 'standalone'] as const)(
    'over TCP (one connection each side, --transport tcp): %s carries every call',
    async (name) => {
      const step = await stepOn(name, 'tcp');
      expect(step).toMatchObject({ attempted: 40, succeeded: 40, failed: 0, calleeFailed: 0, clean: true });
    },
  );

  it('sipedge distributed: Redis commands, NATS messages and CPU of every process per call', async () => {
    const step = await stepOn('distributed-1w');
    expect(step).toMatchObject({ attempted: 40, succeeded: 40, clean: true });
    for (const name of ['edge', 'worker-1', 'redis', 'nats']) expect(step.cpuMsPerCall[name]).toBeGreaterThan(0);
    // Each call is several transactions handed from the edge to the worker and back over NATS,
    // each stored in Redis.
    expect(step.natsMessagesPerCall).toBeGreaterThan(4);
    expect(step.redisCommandsPerCall).toBeGreaterThan(4);
    expect(Object.keys(step.redisCommandMix!)).toContain('evalsha');
  });

  it('a step of 10 s and more also offers ringing calls ended by their Expires: each deadline fires, its lateness measured', async () => {
    running = await startSystem('standalone', { kamailioChildren: 2, transport: 'udp' });
    const step = await runStep(running, RATE, 10, 'udp');
    // 5 a second for the 5 s before the last one's Expires (5 s) would outlast SIPp's calls.
    expect(step.expiringCalls).toEqual({ sent: 25, cancelled: 25, terminated: 25 });
    expect(step).toMatchObject({ attempted: 200, succeeded: 200, clean: true });
    expect(step.timerLatenessMs!.fired).toBeGreaterThanOrEqual(25);
    expect(step.timerLatenessMs!.p99).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it("each step has a callee of its own: what reaches an earlier step's callee later is not counted", async () => {
    running = await startSystem('direct', { kamailioChildren: 2, transport: 'udp' });
    const first = await runStep(running, RATE, SECONDS, 'udp');
    const stray = createSocket('udp4');
    const [host, port] = first.callee.split(':') as [string, string];
    // A BYE retransmitted for a call of the first step (as a proxy does until Timer F), during the second.
    const bye = [
      `BYE sip:bench@${first.callee} SIP/2.0`,
      'Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-stray-bye',
      'From: <sip:caller@127.0.0.1:9>;tag=stray',
      `To: <sip:bench@${first.callee}>;tag=gone`,
      'Call-ID: stray-bye@127.0.0.1',
      'CSeq: 2 BYE',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const strays = setInterval(() => stray.send(bye, Number(port), host), 200);
    try {
      const second = await runStep(running, RATE, SECONDS, 'udp');
      expect(second.callee).not.toBe(first.callee);
      expect(second).toMatchObject({ attempted: 40, succeeded: 40, failed: 0, calleeFailed: 0, clean: true });
    } finally {
      clearInterval(strays);
      stray.close();
    }
  });

  it('a system that rejects every call: the step is not clean, and says why', async () => {
    const socket = createSocket('udp4');
    const port = await freePort();
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    socket.on('message', (message, from) => {
      const text = message.toString('latin1');
      if (!text.startsWith('INVITE ')) return;
      const keep = text.split('\r\n').filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
      socket.send(
        `SIP/2.0 503 Service Unavailable\r\n${keep.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
        from.port,
        from.address,
      );
    });
    try {
      const rejecting: RunningSystem = {
        name: 'direct',
        target: `127.0.0.1:${port}`,
        processes: [],
        workerMetricsUrls: [],
        stop: async () => {},
      };
      const step = await runStep(rejecting, RATE, SECONDS, 'udp');
      expect(step).toMatchObject({ attempted: 40, succeeded: 0, failed: 40, clean: false });
      expect(step.problem).toMatch(/503/);
    } finally {
      socket.close();
    }
  });

  it('takeover: ringing calls whose worker is SIGKILLed get their CANCEL from the other worker, after their deadline', async () => {
    const t = await measureTakeover({ calls: 3, deadlineSeconds: 8 });
    expect(t.problems).toEqual([]);
    expect(t).toMatchObject({ calls: 3, ringing: 3, cancelled: 3, terminated: 3 });
    // Killed before any deadline was due: each CANCEL came from the worker that survived it.
    expect(t.killMarginMs).toBeGreaterThan(0);
    expect(t.survivor!.fired).toBeGreaterThanOrEqual(3);
    // Never before the due time, reckoned from the INVITE sent (no later than the worker starts the deadline).
    expect(t.latenessMs!.min).toBeGreaterThanOrEqual(0);
    expect(t.latenessMs!.max).toBeLessThan(5000);
  }, 60_000);
});
