import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UdpTransport } from '../src/transports/index.js';
import { UdpQueueProbe } from '../src/transports/udp-queue-probe.js';

describe('UdpQueueProbe', () => {
  it('measures the wait of its own probes and knows no other datagram', () => {
    const probe = new UdpQueueProbe();
    const first = probe.probe(1000);
    const second = probe.probe(1050);
    expect(probe.delayMs(1000)).toBe(0);
    expect(probe.received(first, 1300)).toBe(true);
    expect(probe.delayMs(1300)).toBe(300);
    expect(probe.received(second, 1310)).toBe(true);
    expect(probe.delayMs(1310)).toBe(260);
    expect(probe.received(probe.probe(1400), 1405)).toBe(true);
    expect(probe.delayMs(1405)).toBe(5);
    // Another process' probe, a keep-alive, SIP: not probes.
    expect(new UdpQueueProbe().received(new UdpQueueProbe().probe(1), 2)).toBe(false);
    expect(probe.received(Buffer.from('\0\0\0\0'), 1)).toBe(false);
    expect(probe.received(Buffer.from('OPTIONS sip:x SIP/2.0\r\n'), 1)).toBe(false);
  });

  it('counts a probe still queued as a wait, and one never read back as lost', () => {
    const probe = new UdpQueueProbe();
    probe.probe(0);
    expect(probe.delayMs(40)).toBe(0);
    expect(probe.delayMs(650)).toBe(600);
    // Dropped by a full queue: a wait of the loss bound, until later probes come back sooner.
    expect(probe.delayMs(5000)).toBe(2000);
    expect(probe.received(probe.probe(5000), 5010)).toBe(true);
    expect(probe.delayMs(5010)).toBe(10);
  });

  it('goes through the transport’s own socket and never reaches the handler', async () => {
    const probe = new UdpQueueProbe();
    const seen: Buffer[] = [];
    const udp = new UdpTransport({
      listen: [{ address: '127.0.0.1', port: 0 }],
      handler: {
        datagram: (data) => seen.push(data),
        streamMessage: () => undefined,
        streamError: () => undefined,
        flowOpened: () => undefined,
        flowClosed: () => undefined,
      },
      queueProbe: probe,
    });
    await udp.start();
    const client = createSocket('udp4');
    try {
      // Read-back probes leave nothing outstanding: the wait stays near zero on an idle socket.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(probe.delayMs(Date.now())).toBeLessThan(100);
      const [local] = udp.addresses();
      await new Promise<void>((resolve) => client.send('\0\0\0\0', local!.port, '127.0.0.1', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen.map((d) => d.toString('latin1'))).toEqual(['\0\0\0\0']);
    } finally {
      client.close();
      await udp.close();
    }
  });
});
