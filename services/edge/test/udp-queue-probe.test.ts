import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UdpTransport } from '../src/transports/index.js';
import { PROBE_STANDING_WINDOW_MS as STANDING_WINDOW_MS, UdpQueueProbe } from '../src/transports/udp-queue-probe.js';

describe('UdpQueueProbe', () => {
  it('measures the standing and the latest wait of its own probes, and knows no other datagram', () => {
    const probe = new UdpQueueProbe();
    const W = STANDING_WINDOW_MS;
    // Two windows of probes that all waited 300 ms: a standing queue.
    let at = 1000;
    for (; at < 1000 + 2 * W; at += 25) expect(probe.received(probe.probe(at), at + 300)).toBe(true);
    expect(probe.standingMs(at + 300)).toBe(300);
    expect(probe.latestMs(at + 300)).toBe(300);
    // Bursts that drain: every tenth probe came back at once, the others after 400 ms.
    const burst = at;
    for (let i = 0; at < burst + 2 * W; at += 25, i++) probe.received(probe.probe(at), at + (i % 10 === 0 ? 0 : 400));
    expect(probe.standingMs(at + 400)).toBe(0);
    // A probe still queued: the latest wait grows with it.
    probe.probe(at);
    expect(probe.latestMs(at + 650)).toBe(600);
    // Another process' probe, a keep-alive, SIP: not probes.
    expect(new UdpQueueProbe().received(new UdpQueueProbe().probe(1), 2)).toBe(false);
    expect(probe.received(Buffer.from('\0\0\0\0'), 1)).toBe(false);
    expect(probe.received(Buffer.from('OPTIONS sip:x SIP/2.0\r\n'), 1)).toBe(false);
  });

  it('counts a probe queued for a whole window as a standing wait, and one never read back as lost', () => {
    const probe = new UdpQueueProbe();
    // One probe came back: the way to the socket works.
    probe.received(probe.probe(-100), -90);
    probe.probe(0);
    expect(probe.standingMs(STANDING_WINDOW_MS - 100)).toBe(0);
    expect(probe.standingMs(STANDING_WINDOW_MS + 100)).toBe(STANDING_WINDOW_MS + 100);
    // Dropped by a full queue: the loss bound, for a window.
    expect(probe.standingMs(2500)).toBe(2000);
    expect(probe.standingMs(2500 + STANDING_WINDOW_MS - 100)).toBe(2000);
    expect(probe.standingMs(2500 + STANDING_WINDOW_MS + 100)).toBe(0);
  });

  it('judges nothing until a probe has come back (a firewall or a loopback that drops its own datagrams)', () => {
    const probe = new UdpQueueProbe();
    for (let at = 0; at < 10_000; at += 50) probe.probe(at);
    expect(probe.standingMs(10_000)).toBe(0);
    expect(probe.latestMs(10_000)).toBe(0);
    expect(probe.standingMs(12_500)).toBe(0);
    // The first probe back proves the way: from then on the probes count.
    probe.received(probe.probe(12_500), 12_510);
    probe.probe(13_000);
    expect(probe.standingMs(13_000 + STANDING_WINDOW_MS + 100)).toBe(STANDING_WINDOW_MS + 100);
    expect(probe.standingMs(16_000)).toBe(2000);
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
      expect(probe.latestMs(Date.now())).toBeLessThan(100);
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
