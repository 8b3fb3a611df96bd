/**
 * The cost of the edge → worker hand-off over NATS, the two ways the edge uses:
 * - UDP: one publish per message (at-most-once; SIP retransmissions recover a loss);
 * - TCP/TLS: a request the worker acknowledges (retried on another worker without an answer).
 * A stand-in worker in the same process takes the messages. Each mode hands off up to 20,000
 * INVITE-sized messages with 64 in flight (a UDP lane waits until the worker has its message),
 * bounded by 10 s. The caller prints.
 */
import { connectNatsBus } from '@sipedge/bus';
import { Handoff } from '@sipedge/edge';
import { QUEUES, SUBJECTS, type InboundMeta } from '@sipedge/handoff';
import { parseMessage } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';

export interface HandoffModeResult {
  messages: number;
  messagesPerSecond: number;
  /** Time from handing off to the worker having it (UDP) or to its acknowledgement (TCP). */
  latencyP50Us: number;
  latencyP99Us: number;
}

export interface HandoffBenchResult {
  udp: HandoffModeResult;
  tcp: HandoffModeResult;
}

const MESSAGES = 20_000;
const IN_FLIGHT = 64;
const MAX_MS = 10_000;
const WIRE = Buffer.from(
  `INVITE sip:bob@example.com SIP/2.0\r\n${'X-Pad: '.padEnd(900, 'x')}\r\nContent-Length: 0\r\n\r\n`,
);
const MESSAGE = parseMessage(WIRE, { validate: false });

export async function benchHandoff(natsUrl: string): Promise<HandoffBenchResult> {
  const logger = createLogger({ name: 'bench-handoff', level: 'silent' });
  const edgeBus = await connectNatsBus({ servers: natsUrl, name: 'bench-edge', logger });
  const workerBus = await connectNatsBus({ servers: natsUrl, name: 'bench-worker', logger });
  const arrived = new Map<string, bigint>();
  const waiting = new Map<string, () => void>();
  try {
    await workerBus.subscribe(
      SUBJECTS.inbound,
      (m) => {
        const id = m.headers['bench-id']!;
        arrived.set(id, process.hrtime.bigint());
        waiting.get(id)?.();
        return { data: new Uint8Array(0) };
      },
      { queue: QUEUES.workers },
    );
    const handoff = new Handoff(edgeBus, { ackTimeoutMs: 2000, attempts: 1 }, logger);
    const run = async (transport: 'udp' | 'tcp'): Promise<HandoffModeResult> => {
      arrived.clear();
      const meta: InboundMeta = {
        transport,
        source: { address: '127.0.0.1', port: 40000 },
        local: { address: '127.0.0.1', port: 5060 },
        edgeId: 'bench',
        receivedAt: Date.now(),
        ...(transport === 'tcp' ? { flowId: 'f-bench-1' } : {}),
      };
      const started = new Map<string, bigint>();
      const latencies: number[] = [];
      const t0 = process.hrtime.bigint();
      const deadline = t0 + BigInt(MAX_MS) * 1_000_000n;
      let next = 0;
      const lane = async () => {
        while (next < MESSAGES && process.hrtime.bigint() < deadline) {
          const id = String(next++);
          const start = process.hrtime.bigint();
          started.set(id, start);
          // UDP: the lane waits until the worker has the message, so both modes measure the same span.
          const delivered = new Promise<void>((resolve) => waiting.set(id, resolve));
          await handoff.forward(MESSAGE, meta, { 'bench-id': id });
          if (transport === 'udp') await Promise.race([delivered, new Promise((r) => setTimeout(r, 2000))]);
          waiting.delete(id);
          if (transport === 'tcp') latencies.push(Number(process.hrtime.bigint() - start) / 1000);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      // UDP: wait (bounded) for the worker to have every published message.
      const waitUntil = process.hrtime.bigint() + 5_000_000_000n;
      while (transport === 'udp' && arrived.size < started.size && process.hrtime.bigint() < waitUntil) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (transport === 'udp') {
        for (const [id, at] of arrived) latencies.push(Number(at - started.get(id)!) / 1000);
      }
      latencies.sort((a, b) => a - b);
      const pct = (p: number) =>
        Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN);
      return {
        messages: transport === 'udp' ? arrived.size : latencies.length,
        messagesPerSecond: Math.round((transport === 'udp' ? arrived.size : latencies.length) / seconds),
        latencyP50Us: pct(0.5),
        latencyP99Us: pct(0.99),
      };
    };
    const udp = await run('udp');
    const tcp = await run('tcp');
    return { udp, tcp };
  } finally {
    await Promise.allSettled([edgeBus.close(), workerBus.close()]);
  }
}
