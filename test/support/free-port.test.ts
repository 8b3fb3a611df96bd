import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePortIn } from './free-port.js';

const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

describe('freePort', () => {
  it('gives a port below the kernel ephemeral range that both TCP and UDP can bind', async () => {
    const port = await freePort();
    expect(port).toBeLessThan(ephemeralLow!);
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, '127.0.0.1', resolve);
    });
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(resolve));
  });

  it('skips a port held for UDP only and one held for TCP only', async () => {
    const low = (await freePort()) & ~3;
    const udp = createSocket('udp4');
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(low, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(low + 1, '127.0.0.1', resolve);
      });
      for (let i = 0; i < 20; i++) expect(await freePortIn(low, low + 3)).toBe(low + 2);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(resolve));
    }
  });
});
