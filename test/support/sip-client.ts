import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { type Socket, connect } from 'node:net';

/** A UDP client on loopback that collects what it receives, for edge tests. */
export class UdpClient {
  readonly received: { data: Buffer; from: RemoteInfo }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (data, from) => {
      this.received.push({ data, from });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1'): Promise<UdpClient> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return new UdpClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer | string, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, address, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }

  /** Waits for the `count`-th datagram overall (1-based), or fails after `timeoutMs`. */
  async nth(count: number, timeoutMs = 3000): Promise<{ data: Buffer; from: RemoteInfo }> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} datagram(s), got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received[count - 1]!;
  }

  close(): void {
    this.socket.close();
  }
}

/** A TCP client that collects the bytes it receives. */
export class TcpClient {
  data = Buffer.alloc(0);
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => (this.data = Buffer.concat([this.data, chunk])));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number, host = '127.0.0.1'): Promise<TcpClient> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TcpClient(socket);
  }

  write(data: Buffer | string): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async waitFor(predicate: (data: Buffer) => boolean, timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.data)) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(this.data.toString('latin1'))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.data;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A SIP request as wire bytes with a correct Content-Length. */
export function sipRequest(
  method: string,
  options: {
    uri?: string;
    via: string;
    callId: string;
    cseq?: number;
    body?: string;
    extra?: string[];
    maxForwards?: number;
  },
): string {
  const body = options.body ?? '';
  return [
    `${method} ${options.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${options.via}`,
    `Max-Forwards: ${options.maxForwards ?? 70}`,
    'To: <sip:bob@example.com>',
    'From: <sip:alice@example.com>;tag=a1',
    `Call-ID: ${options.callId}`,
    `CSeq: ${options.cseq ?? 1} ${method}`,
    ...(options.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}
