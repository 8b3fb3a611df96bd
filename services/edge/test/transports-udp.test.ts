import { type RemoteInfo, Socket, createSocket } from 'node:dgram';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UdpTransport } from '../src/transports/index.js';
import type { Arrival, Endpoint, TransportHandler } from '../src/transports/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });

function options(n: number, body = ''): Buffer {
  return Buffer.from(
    `OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-udp-${n};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      'From: <sip:alice@example.com>;tag=a1\r\n' +
      'To: <sip:edge@example.com>\r\n' +
      `Call-ID: udp-${n}@test\r\n` +
      `CSeq: ${n} OPTIONS\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}

interface Received {
  data: Buffer;
  arrival: Arrival;
}

function recordingHandler(): { handler: TransportHandler; received: Received[] } {
  const received: Received[] = [];
  const unexpected = (): never => {
    throw new Error('a UDP transport reported a stream event');
  };
  return {
    received,
    handler: {
      datagram: (data, arrival) => received.push({ data, arrival }),
      streamMessage: unexpected,
      streamError: unexpected,
      flowOpened: unexpected,
      flowClosed: unexpected,
    },
  };
}

/** Can this machine bind ::1? (IPv6 tests are skipped, with the reason, if not.) */
async function ipv6LoopbackError(): Promise<string | undefined> {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '::1', () => resolve());
    });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    try {
      socket.close();
    } catch {
      // not bound
    }
  }
}

const ipv6Error = await ipv6LoopbackError();
if (ipv6Error !== undefined) {
  process.stderr.write(`transports-udp: IPv6 tests skipped, cannot bind ::1: ${ipv6Error}\n`);
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTransport(listen: Endpoint[]): Promise<{ transport: UdpTransport; received: Received[] }> {
  const { handler, received } = recordingHandler();
  const transport = new UdpTransport({ listen, handler, logger });
  cleanups.push(() => transport.close());
  await transport.start();
  return { transport, received };
}

/**
 * A transport bound to each of `addresses` on one port, a port that was free on `probeOn` a
 * moment ago; checks that it reports them all, in order.
 */
async function startOnOnePort(
  addresses: string[],
  probeOn = addresses[0]!,
): Promise<{ transport: UdpTransport; received: Received[]; port: number }> {
  const { transport: probe } = await startTransport([{ address: probeOn, port: 0 }]);
  const port = probe.addresses()[0]!.port;
  await probe.close();
  const listen = addresses.map((address) => ({ address, port }));
  const { transport, received } = await startTransport(listen);
  expect(transport.addresses()).toEqual(listen);
  return { transport, received, port };
}

async function client(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
  const socket = createSocket({ type, ipv6Only: type === 'udp6' });
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  return socket;
}

function sendFrom(socket: Socket, data: Buffer, to: Endpoint): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(data, to.port, to.address, (error) => (error ? reject(error) : resolve())),
  );
}

function nextMessage(socket: Socket): Promise<{ data: Buffer; from: RemoteInfo }> {
  return new Promise((resolve) => socket.once('message', (data, from) => resolve({ data, from })));
}

describe('UdpTransport', () => {
  it('reports a datagram with its source and local endpoints', async () => {
    const { transport, received } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const [local] = transport.addresses();
    expect(local).toEqual({ address: '127.0.0.1', port: expect.any(Number) });
    expect(local!.port).toBeGreaterThan(0);
    const sender = await client('udp4', '127.0.0.1');
    const before = Date.now();
    await sendFrom(sender, options(1), local!);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
    const { data, arrival } = received[0]!;
    expect(data.equals(options(1))).toBe(true);
    expect(arrival).toEqual({
      transport: 'udp',
      source: { address: '127.0.0.1', port: sender.address().port },
      local,
      receivedAt: expect.any(Number),
    });
    expect(arrival.receivedAt).toBeGreaterThanOrEqual(before);
    expect(arrival.flowId).toBeUndefined();
  });

  it('receives an 8 KB datagram whole (§18.1.1)', async () => {
    const { transport, received } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const big = options(2, 'v=0\r\n' + 'a='.padEnd(8190, 'x') + '\r\n');
    expect(big.length).toBeGreaterThan(8192);
    const sender = await client('udp4', '127.0.0.1');
    await sendFrom(sender, big, transport.addresses()[0]!);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
    expect(received[0]!.data.length).toBe(big.length);
    expect(received[0]!.data.equals(big)).toBe(true);
  });

  it('receives a datagram near the 64 KB limit whole (§18.1.1)', async () => {
    const { transport, received } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    // 65,507 bytes is the largest UDP payload over IPv4 (65,535 minus IP and UDP headers).
    const head = options(3, '');
    const big = Buffer.concat([head, Buffer.alloc(65_507 - head.length, 0x61)]);
    const sender = await client('udp4', '127.0.0.1');
    await sendFrom(sender, big, transport.addresses()[0]!);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
    expect(received[0]!.data.length).toBe(65_507);
  });

  it('sends from the listening port (symmetric UDP, RFC 3581 §4)', async () => {
    const { transport, received } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const local = transport.addresses()[0]!;
    const peer = await client('udp4', '127.0.0.1');
    await sendFrom(peer, options(4), local);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
    const reply = nextMessage(peer);
    await transport.send(Buffer.from('SIP/2.0 200 OK\r\n\r\n'), received[0]!.arrival.source);
    const { data, from } = await reply;
    expect(data.toString()).toBe('SIP/2.0 200 OK\r\n\r\n');
    expect(from.address).toBe('127.0.0.1');
    expect(from.port).toBe(local.port);
  });

  it('sends from the socket bound to `from` when given', async () => {
    const { transport } = await startTransport([
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 0 },
    ]);
    const [first, second] = transport.addresses();
    expect(first!.port).not.toBe(second!.port);
    const peer = await client('udp4', '127.0.0.1');
    const reply = nextMessage(peer);
    await transport.send(Buffer.from('x'), { address: '127.0.0.1', port: peer.address().port }, second);
    expect((await reply).from.port).toBe(second!.port);
    await expect(
      transport.send(Buffer.from('x'), { address: '127.0.0.1', port: peer.address().port }, { ...second!, port: 1 }),
    ).rejects.toThrow(/no listening socket bound to 127\.0\.0\.1:1/);
  });

  it('writes the datagrams asked for in one turn together at its end, in order; a close sends them first', async () => {
    const { transport } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const peer = await client('udp4', '127.0.0.1');
    const to = { address: '127.0.0.1', port: peer.address().port };
    const got: string[] = [];
    peer.on('message', (data) => got.push(data.toString()));
    const written = vi.spyOn(Socket.prototype, 'send');
    const sent = ['1', '2', '3'].map((n) => transport.send(Buffer.from(n), to));
    expect(written).not.toHaveBeenCalled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toHaveBeenCalledTimes(3);
    await Promise.all(sent);
    await vi.waitFor(() => expect(got).toEqual(['1', '2', '3']), { timeout: 2000, interval: 5 });
    const last = transport.send(Buffer.from('4'), to);
    await transport.close();
    await last;
    expect(written).toHaveBeenCalledTimes(4);
    written.mockRestore();
  });

  it('rejects a send the kernel refuses (EMSGSIZE), the others of its turn still going out', async () => {
    const { transport } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const peer = await client('udp4', '127.0.0.1');
    const to = { address: '127.0.0.1', port: peer.address().port };
    const reply = nextMessage(peer);
    const tooBig = transport.send(Buffer.alloc(70_000), to);
    const fine = transport.send(Buffer.from('ok'), to);
    await expect(tooBig).rejects.toThrow(/udp: send to 127\.0\.0\.1:\d+ failed/);
    await fine;
    expect((await reply).data.toString()).toBe('ok');
  });

  it('rejects a send with no socket of the destination family, a host name or after close', async () => {
    const { transport } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    await expect(transport.send(Buffer.from('x'), { address: '::1', port: 5060 })).rejects.toThrow(
      /no listening socket of family IPv6/,
    );
    await expect(transport.send(Buffer.from('x'), { address: 'example.com', port: 5060 })).rejects.toThrow(
      /not an IP address/,
    );
    await expect(transport.send(Buffer.from('x'), { address: '127.0.0.1', port: 0 })).rejects.toThrow(/bad port/);
    await transport.close();
    await expect(transport.send(Buffer.from('x'), { address: '127.0.0.1', port: 5060 })).rejects.toThrow(/closed/);
    expect(transport.addresses()).toEqual([]);
  });

  it('fails start() when an address cannot be bound, leaving nothing bound', async () => {
    const { transport: first } = await startTransport([{ address: '127.0.0.1', port: 0 }]);
    const taken = first.addresses()[0]!;
    const { handler } = recordingHandler();
    const second = new UdpTransport({ listen: [{ address: '127.0.0.1', port: 0 }, taken], handler, logger });
    cleanups.push(() => second.close());
    await expect(second.start()).rejects.toThrow(/udp: cannot bind 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(second.addresses()).toEqual([]);
  });

  it('refuses a listen address that is not an IP literal', () => {
    const { handler } = recordingHandler();
    expect(() => new UdpTransport({ listen: [{ address: 'localhost', port: 5060 }], handler, logger })).toThrow(
      /not an IP address/,
    );
    expect(() => new UdpTransport({ listen: [], handler, logger })).toThrow(/no listen address/);
  });

  it('does not crash when the handler throws', async () => {
    const { handler, received } = recordingHandler();
    let calls = 0;
    const transport = new UdpTransport({
      listen: [{ address: '127.0.0.1', port: 0 }],
      handler: {
        ...handler,
        datagram: (data, arrival) => {
          calls += 1;
          if (calls === 1) throw new Error('core bug');
          handler.datagram(data, arrival);
        },
      },
      logger,
    });
    cleanups.push(() => transport.close());
    await transport.start();
    const sender = await client('udp4', '127.0.0.1');
    await sendFrom(sender, options(5), transport.addresses()[0]!);
    await sendFrom(sender, options(6), transport.addresses()[0]!);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
    expect(calls).toBe(2);
  });

  describe.skipIf(ipv6Error !== undefined)('IPv6', () => {
    it('binds 127.0.0.1 and ::1 on the same port and receives and sends on ::1', async () => {
      const { transport, received, port } = await startOnOnePort(['127.0.0.1', '::1'], '::1');
      const peer = await client('udp6', '::1');
      await sendFrom(peer, options(7), { address: '::1', port });
      await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 2000, interval: 5 });
      expect(received[0]!.arrival.source).toEqual({ address: '::1', port: peer.address().port });
      expect(received[0]!.arrival.local).toEqual({ address: '::1', port });
      const reply = nextMessage(peer);
      await transport.send(Buffer.from('pong'), received[0]!.arrival.source);
      const { data, from } = await reply;
      expect(data.toString()).toBe('pong');
      expect(from).toMatchObject({ address: '::1', port, family: 'IPv6' });
    });

    it('binds the IPv4 and IPv6 wildcards on the same port', async () => {
      const { received, port } = await startOnOnePort(['0.0.0.0', '::']);
      const v4 = await client('udp4', '127.0.0.1');
      const v6 = await client('udp6', '::1');
      await sendFrom(v4, options(8), { address: '127.0.0.1', port });
      await sendFrom(v6, options(9), { address: '::1', port });
      await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 2000, interval: 5 });
      const byFamily = Object.fromEntries(received.map((r) => [r.arrival.local.address, r.arrival.source.address]));
      expect(byFamily).toEqual({ '0.0.0.0': '127.0.0.1', '::': '::1' });
    });
  });
});
