/**
 * A HEP collector of the test's own: a UDP socket on the loopback that decodes every HEP3 packet
 * it receives (with the edge's own decoder) and keeps them, for tests that check what an edge
 * exports. Anything that does not decode is kept apart, so that a test can say there was none.
 */
import { type Socket, createSocket } from 'node:dgram';
import { type DecodedHep, decodeHep } from '@sipedge/edge';

export class HepReceiver {
  readonly packets: DecodedHep[] = [];
  /** Datagrams that were not HEP3 packets, with why. */
  readonly malformed: { data: Buffer; error: string }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => {
      try {
        this.packets.push(decodeHep(data));
      } catch (error) {
        this.malformed.push({ data, error: (error as Error).message });
      }
    });
  }

  /** Binds a receiver to `address` (a loopback address) on a free port. */
  static async open(address = '127.0.0.1'): Promise<HepReceiver> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new HepReceiver(socket);
  }

  /** `127.0.0.1:<port>`, as SIPEDGE_HEP_ADDRESS wants it. */
  get address(): string {
    const { address, port } = this.socket.address();
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The packets whose payload is `payload`, byte for byte. */
  carrying(payload: Buffer | string): DecodedHep[] {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    return this.packets.filter((p) => p.payload.equals(bytes));
  }

  /** The first packet (now or within `timeoutMs`) that matches. */
  async next(match: (packet: DecodedHep) => boolean, timeoutMs = 5000): Promise<DecodedHep> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.packets.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const seen = this.packets.map((p) => p.payload.toString('latin1').split('\r\n')[0]).join(' | ');
        throw new Error(`hep receiver ${this.address}: no matching packet; got ${this.packets.length}: ${seen}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The packet carrying exactly `payload` (now or within `timeoutMs`). */
  carried(payload: Buffer | string, timeoutMs = 5000): Promise<DecodedHep> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    return this.next((p) => p.payload.equals(bytes), timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
