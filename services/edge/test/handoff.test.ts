/**
 * The TCP/TLS/WebSocket hand-off (handoff.ts): a NATS request to the workers' queue group, sent
 * again when no worker confirms it in time; a retry is marked `redelivered`, so that the worker
 * taking it knows the first one may have died between its commit and its sends. In standalone mode
 * the hand-off to the worker of the same process is a call (LocalHandoff).
 */
import { MemoryBusHub } from '@sipedge/bus';
import { LocalLink, QUEUES, SUBJECTS, decodeInbound, type InboundMeta } from '@sipedge/handoff';
import { type SipMessage, parseMessage } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { Handoff, LocalHandoff } from '../src/handoff.js';

const logger = createLogger({ name: 'handoff-test', level: 'silent' });

const META: InboundMeta = {
  transport: 'tcp',
  source: { address: '192.0.2.1', port: 5060 },
  local: { address: '127.0.0.1', port: 5060 },
  flowId: 'f1',
  edgeId: 'e1',
  receivedAt: 1,
};

describe('the hand-off over a stream transport', () => {
  it('sends again, marked redelivered, when the first worker does not confirm', async () => {
    const hub = new MemoryBusHub();
    const worker = hub.connect({ logger });
    const seen: (true | undefined)[] = [];
    await worker.subscribe(
      SUBJECTS.inbound,
      (message) => {
        seen.push(decodeInbound(message.headers).redelivered);
        // The first taker dies holding it: no answer.
        if (seen.length === 1) return new Promise<never>(() => undefined);
        return { data: new Uint8Array(0) };
      },
      { queue: QUEUES.workers },
    );
    const handoff = new Handoff(hub.connect({ logger }), { ackTimeoutMs: 50, attempts: 3 }, logger);
    expect(
      await handoff.forward(parseMessage(Buffer.from('MESSAGE sip:x SIP/2.0\r\n\r\n'), { validate: false }), META),
    ).toBe(true);
    expect(seen).toEqual([undefined, true]);
  });
});

describe('the hand-off to the worker of this process (LocalHandoff)', () => {
  const INVITE = parseMessage(Buffer.from('MESSAGE sip:x SIP/2.0\r\n\r\n'), { validate: false });
  const UDP: InboundMeta = { transport: 'udp', source: META.source, local: META.local, edgeId: 'e1', receivedAt: 1 };

  /** A bus hand-off that records what reached it. */
  const busHandoff = () => {
    const forwarded: SipMessage[] = [];
    return { forwarded, forward: async (message: SipMessage) => (forwarded.push(message), true) };
  };

  it('passes the parsed message itself; over UDP without waiting for the worker, over TCP once it took it', async () => {
    const link = new LocalLink();
    const bus = busHandoff();
    const taken: [SipMessage, InboundMeta][] = [];
    let finish: () => void = () => undefined;
    link.attachWorker({
      take: (message, meta) => {
        taken.push([message, meta]);
        return new Promise<void>((resolve) => (finish = resolve));
      },
    });
    const handoff = new LocalHandoff(link, bus, logger);
    expect(await handoff.forward(INVITE, UDP)).toBe(true);
    let confirmed = false;
    const overTcp = handoff.forward(INVITE, META).then((ok) => (confirmed = ok));
    await new Promise((r) => setImmediate(r));
    expect(confirmed).toBe(false);
    finish();
    await overTcp;
    expect(confirmed).toBe(true);
    expect(taken).toEqual([
      [INVITE, UDP],
      [INVITE, META],
    ]);
    expect(taken[0]![0]).toBe(INVITE);
    expect(bus.forwarded).toEqual([]);
  });

  it('reports a message the worker failed to take as not delivered (the edge answers 503)', async () => {
    const link = new LocalLink();
    link.attachWorker({ take: () => Promise.reject(new Error('worker bug')) });
    const handoff = new LocalHandoff(link, busHandoff(), logger);
    expect(await handoff.forward(INVITE, META)).toBe(false);
    // Over UDP it was handed on: the failure is logged, not unhandled.
    expect(await handoff.forward(INVITE, UDP)).toBe(true);
  });

  it('hands off over the bus while no worker is attached (a worker thread, or one stopped)', async () => {
    const link = new LocalLink();
    const bus = busHandoff();
    const handoff = new LocalHandoff(link, bus, logger);
    expect(await handoff.forward(INVITE, UDP)).toBe(true);
    const detach = link.attachWorker({ take: async () => undefined });
    await handoff.forward(INVITE, UDP);
    detach();
    await handoff.forward(INVITE, UDP);
    expect(bus.forwarded).toHaveLength(2);
  });
});
