/**
 * Outbound delivery: what an edge does with the messages workers publish for it, or the worker of its
 * process asks it to send (RFC 3581 §4, §16.9, §18.2.2).
 */
import { MemoryBusHub } from '@sipedge/bus';
import { H, LocalLink, SUBJECTS, encodeOutbound, type OutboundMeta } from '@sipedge/handoff';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboundDelivery } from '../src/outbound.js';
import type { Endpoint } from '../src/transports/types.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const DEST: Endpoint = { address: '127.0.0.9', port: 40000 };
const data = Buffer.from('SIP/2.0 200 OK\r\n\r\n');

describe('outbound delivery', () => {
  let hub: MemoryBusHub;
  let delivery: OutboundDelivery;
  let log: string[];
  let openFlows: Set<string>;
  let refuse: boolean;

  beforeEach(async () => {
    hub = new MemoryBusHub();
    log = [];
    openFlows = new Set(['f-open']);
    refuse = false;
    delivery = new OutboundDelivery(
      hub.connect({ logger }),
      'edge1',
      {
        udp: { send: async (_d, to) => void log.push(`udp ${to.address}:${to.port}`) },
        tcp: {
          send: (flow) => (openFlows.has(flow) ? (log.push(`tcp ${flow}`), true) : false),
          connect: async (to) => {
            if (refuse) throw new Error('ECONNREFUSED');
            log.push(`connect ${to.address}:${to.port}`);
            openFlows.add('f-new');
            return 'f-new';
          },
          closeFlow: (flow) => openFlows.delete(flow),
        },
      },
      logger,
    );
    await delivery.start();
  });

  afterEach(() => delivery.stop());

  const deliver = (meta: OutboundMeta) => delivery.deliver(data, meta);

  it('sends UDP from the listening transport to the destination (RFC 3581 §4)', async () => {
    expect(await deliver({ transport: 'udp', destination: DEST, kind: 'response' })).toEqual({ ok: true });
    expect(log).toEqual(['udp 127.0.0.9:40000']);
  });

  it('uses the named flow while it is open (§18.2.2)', async () => {
    expect(await deliver({ transport: 'tcp', destination: DEST, flowId: 'f-open', kind: 'response' })).toEqual({
      ok: true,
      flowId: 'f-open',
    });
    expect(log).toEqual(['tcp f-open']);
  });

  it('opens a new connection for a response whose flow is gone (§18.2.2)', async () => {
    expect(await deliver({ transport: 'tcp', destination: DEST, flowId: 'f-gone', kind: 'response' })).toEqual({
      ok: true,
      flowId: 'f-new',
    });
    expect(log).toEqual(['connect 127.0.0.9:40000', 'tcp f-new']);
  });

  it('reports a transport error for a request whose flow is gone, or whose destination refuses (§16.9)', async () => {
    const gone = await deliver({ transport: 'tcp', destination: DEST, flowId: 'f-gone', kind: 'request' });
    expect(gone.ok).toBe(false);
    refuse = true;
    const refused = await deliver({ transport: 'tcp', destination: DEST, kind: 'request' });
    expect(refused).toEqual({
      ok: false,
      error: 'connection to 127.0.0.9:40000 failed: ECONNREFUSED',
      cause: new Error('ECONNREFUSED'),
    });
    expect(await deliver({ transport: 'tls', destination: DEST, kind: 'request' })).toEqual({
      ok: false,
      error: 'no TLS listener',
    });
  });

  it('takes messages from its own subject and from the shared queue, and replies with the outcome', async () => {
    const worker = hub.connect({ logger });
    const ok = await worker.request(SUBJECTS.edgeOutbound('edge1'), data, {
      timeoutMs: 1000,
      headers: encodeOutbound({ transport: 'tcp', destination: DEST, flowId: 'f-open', kind: 'request' }),
    });
    expect(ok.headers[H.deliveryError]).toBeUndefined();
    const failed = await worker.request(SUBJECTS.anyEdgeOutbound, data, {
      timeoutMs: 1000,
      headers: encodeOutbound({ transport: 'tcp', destination: DEST, flowId: 'f-gone', kind: 'request' }),
    });
    expect(failed.headers[H.deliveryError]).toBe('flow f-gone is closed');
    await worker.publish(
      SUBJECTS.anyEdgeOutbound,
      data,
      encodeOutbound({ transport: 'udp', destination: DEST, kind: 'response' }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(['tcp f-open', 'udp 127.0.0.9:40000']);
  });

  it('standalone: sends for the worker of its process by a call while started (LocalLink)', async () => {
    const link = new LocalLink();
    const sent: string[] = [];
    const local = new OutboundDelivery(
      hub.connect({ logger }),
      'edge2',
      {
        udp: { send: async (_d, to) => void sent.push(`udp ${to.address}:${to.port}`) },
        tcp: { send: () => false, connect: () => Promise.reject(new Error('ECONNREFUSED')), closeFlow: () => false },
      },
      logger,
      link,
    );
    expect(link.edge('edge2')).toBeUndefined();
    await local.start();
    const edge = link.edge('edge2')!;
    expect(link.edge(undefined)).toBe(edge);
    expect(await edge.send(data, { transport: 'udp', destination: DEST, kind: 'response' })).toEqual({ ok: true });
    expect(await edge.send(data, { transport: 'tcp', destination: DEST, flowId: 'f-gone', kind: 'request' })).toEqual({
      ok: false,
      error: 'flow f-gone is closed',
    });
    expect(sent).toEqual(['udp 127.0.0.9:40000']);
    await local.stop();
    expect(link.edge('edge2')).toBeUndefined();
  });
});
