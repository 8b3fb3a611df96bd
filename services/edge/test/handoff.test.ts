/**
 * The TCP/TLS/WebSocket hand-off (handoff.ts): a NATS request to the workers' queue group, sent
 * again when no worker confirms it in time; a retry is marked `redelivered`, so that the worker
 * taking it knows the first one may have died between its commit and its sends.
 */
import { MemoryBusHub } from '@sipedge/bus';
import { QUEUES, SUBJECTS, decodeInbound, type InboundMeta } from '@sipedge/handoff';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { Handoff } from '../src/handoff.js';

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
    expect(await handoff.forward(Buffer.from('MESSAGE sip:x SIP/2.0\r\n\r\n'), META)).toBe(true);
    expect(seen).toEqual([undefined, true]);
  });
});
