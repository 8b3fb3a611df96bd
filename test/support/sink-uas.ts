/**
 * A UAS on 127.0.0.1 (UDP and TCP on one port) for fuzz runs: where the served users' contacts and
 * the out-of-domain targets of the seeds point, so that what sipedge forwards ends quickly and on
 * loopback. It answers every request at once (INVITE 486 Busy Here, ACK nothing, anything else
 * 200), counts what it received by method, and records anything it cannot parse: sipedge forwards
 * only requests that passed its validation, so those must parse here too.
 */
import { type RemoteInfo, type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, createServer } from 'node:net';
import { type SipMessage, SipParseError, StreamFramer, buildResponse, parseMessage } from '@sipedge/sip';
import { firstLine } from './reply-check.js';

export class SinkUas {
  /** Requests received, by method; responses under `response`. */
  readonly received = new Map<string, number>();
  /** What could not be parsed, first line and reason. */
  readonly problems: string[] = [];
  private readonly connections = new Set<Socket>();

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
  ) {
    udp.on('message', (data: Buffer, from: RemoteInfo) => {
      const answer = this.take(parsed(data), data);
      if (answer) udp.send(answer, from.port, from.address);
    });
    tcp.on('connection', (socket) => {
      this.connections.add(socket);
      const framer = new StreamFramer();
      socket.on('data', (chunk: Buffer) => {
        for (const event of framer.push(chunk)) {
          if (event.type === 'keepalive') continue;
          const answer = this.take(event.type === 'error' ? event.error : event.message, chunk);
          if (answer && socket.writable) socket.write(answer);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.connections.delete(socket));
    });
  }

  /** Binds UDP and TCP on the same free port of 127.0.0.1. */
  static async start(attempts = 20): Promise<SinkUas> {
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
      const tcp = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(udp.address().port, '127.0.0.1', () => resolve(true));
      });
      if (listening) return new SinkUas(udp, tcp);
      udp.close();
      if (attempt >= attempts) throw new Error('sink: no port free for both UDP and TCP');
    }
  }

  get port(): number {
    return this.udp.address().port;
  }

  /** Requests received in all. */
  get requests(): number {
    let total = 0;
    for (const [method, count] of this.received) if (method !== 'response') total += count;
    return total;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  /** Counts a message (or records why it did not parse) and returns the answer to send, if any. */
  private take(seen: SipMessage | SipParseError, bytes: Buffer): Buffer | undefined {
    if (seen instanceof SipParseError) {
      if (this.problems.length < 20)
        this.problems.push(`${seen.reason}: ${firstLine(seen.partial?.toBuffer() ?? bytes)}`);
      return undefined;
    }
    const kind = seen.isRequest ? seen.method : 'response';
    this.received.set(kind, (this.received.get(kind) ?? 0) + 1);
    if (!seen.isRequest || seen.method === 'ACK') return undefined;
    return buildResponse(seen, seen.method === 'INVITE' ? 486 : 200, { toTag: 'sink' }).toBuffer();
  }
}

function parsed(bytes: Buffer): SipMessage | SipParseError {
  try {
    return parseMessage(bytes);
  } catch (error) {
    if (error instanceof SipParseError) return error;
    throw error;
  }
}
