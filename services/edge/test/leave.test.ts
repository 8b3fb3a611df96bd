/**
 * An edge leaving the fleet (Edge.stop after a drain): it leaves the live-edge list, announces its
 * departure on SUBJECTS.edgeGone, and still sends what a worker published for it before hearing
 * the announcement, so that a rolling restart loses no message on its way through the stopping edge.
 */
import { createSocket } from 'node:dgram';
import { MemoryBusHub } from '@sipedge/bus';
import { SUBJECTS, encodeOutbound } from '@sipedge/handoff';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { startTestEdge } from './support/edge.js';

const logger = createLogger({ name: 'edge-leave-test', level: 'silent' });

describe('an edge leaving the fleet', () => {
  it('leaves the live-edge list, announces it is gone, and sends what a worker published before hearing it', async () => {
    const hub = new MemoryBusHub();
    const worker = hub.connect({ logger });
    const { edge, stores } = await startTestEdge(hub, { edgeId: 'leaving' });
    const ua = createSocket('udp4');
    await new Promise<void>((resolve) => ua.bind(0, '127.0.0.1', resolve));
    const received: string[] = [];
    ua.on('message', (data) => received.push(data.toString('latin1')));
    try {
      expect(await stores.edges.live(Date.now())).toEqual(['leaving']);
      // A worker that was about to send through the edge as it left: it publishes on hearing.
      const heard: string[] = [];
      await worker.subscribe(SUBJECTS.edgeGone, async (message) => {
        const edgeId = Buffer.from(message.data).toString('utf8');
        heard.push(edgeId);
        expect(await stores.edges.live(Date.now())).toEqual([]);
        const ack = `ACK sip:ua@127.0.0.1:${ua.address().port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`;
        await worker.publish(
          SUBJECTS.edgeOutbound(edgeId),
          Buffer.from(ack),
          encodeOutbound({
            transport: 'udp',
            destination: { address: '127.0.0.1', port: ua.address().port },
            kind: 'request',
          }),
        );
      });
      await edge.drain();
      await edge.stop();
      expect(heard).toEqual(['leaving']);
      await expect.poll(() => received.length).toBe(1);
      expect(received[0]).toMatch(/^ACK sip:ua@/);
    } finally {
      ua.close();
      await worker.close();
    }
  });
});
