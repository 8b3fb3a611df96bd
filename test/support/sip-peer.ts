/**
 * A scriptable SIP user agent over UDP, TCP or WebSocket for end-to-end tests: it sends requests to
 * a proxy, collects and parses what reaches it, and answers. Over TCP it keeps one connection to the
 * proxy (what it registers over, so the proxy reaches it on that flow, RFC 5626 / §18.1.1) and also
 * accepts connections at its Contact port. Over WS it is a browser UA as RFC 7118 describes one:
 * one WebSocket connection (`sip` subprotocol), one SIP message per WebSocket message, a `.invalid`
 * host in its Via and Contact, reachable only on that connection.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { type SipMessage, StreamFramer, buildResponse, parseMessage } from '@sipedge/sip';
import WebSocket from 'ws';

export type PeerTransport = 'udp' | 'tcp' | 'ws';

/** The host a browser UA names itself by: it has no address a peer could reach (RFC 7118 §5.2). */
const WS_HOST = 'peer7118.invalid';

let branches = 0;

export class SipPeer {
  readonly received: SipMessage[] = [];
  private udp: UdpSocket | undefined;
  private server: Server | undefined;
  private connection: Socket | undefined;
  private ws: WebSocket | undefined;
  private readonly accepted: Socket[] = [];
  /** The connection each message came on (TCP): its response goes back on it (§18.2.2). */
  private readonly arrivedOn = new WeakMap<SipMessage, Socket>();
  private contactPort = 0;

  private constructor(
    readonly transport: PeerTransport,
    readonly address: string,
    private readonly proxy: { address: string; port: number },
  ) {}

  /** A peer bound to `address` (any loopback address) that talks to the proxy at `proxy`. */
  static async open(
    transport: PeerTransport,
    proxy: { address: string; port: number },
    address = '127.0.0.1',
  ): Promise<SipPeer> {
    const peer = new SipPeer(transport, address, proxy);
    if (transport === 'ws') {
      const ws = new WebSocket(
        `ws://${proxy.address.includes(':') ? `[${proxy.address}]` : proxy.address}:${proxy.port}`,
        ['sip'],
        {
          localAddress: address,
        },
      );
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('message', (data: Buffer) => peer.take(data));
      ws.on('error', () => undefined);
      peer.ws = ws;
    } else if (transport === 'udp') {
      const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      socket.on('message', (data) => peer.take(data));
      await new Promise<void>((resolve) => socket.bind(0, address, resolve));
      peer.udp = socket;
      peer.contactPort = socket.address().port;
    } else {
      const server = createServer((socket) => peer.read(socket));
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      peer.server = server;
      peer.contactPort = (server.address() as { port: number }).port;
      const socket = connect({ host: proxy.address, port: proxy.port, localAddress: address });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      peer.read(socket);
      peer.connection = socket;
    }
    return peer;
  }

  /** Where requests to this peer go: its Contact host and port. */
  get port(): number {
    return this.contactPort;
  }

  /** The port the proxy sees requests come from (the UDP socket, or the TCP connection's local port). */
  get sourcePort(): number {
    if (this.transport === 'ws') return (this.ws as unknown as { _socket: Socket })._socket.localPort!;
    return this.transport === 'udp' ? this.contactPort : this.connection!.localPort!;
  }

  /** Its address as a URI or Via host wants it (an IPv6 one in brackets; over WS its `.invalid` name). */
  get host(): string {
    if (this.transport === 'ws') return WS_HOST;
    return this.address.includes(':') ? `[${this.address}]` : this.address;
  }

  contact(user: string): string {
    if (this.transport === 'ws') return `<sip:${user}@${WS_HOST};transport=ws>`;
    return `<sip:${user}@${this.host}:${this.port}${this.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  /** The Via of a request this peer sends, with a new branch unless one is given. */
  via(branch = `z9hG4bKpeer${++branches}`): string {
    if (this.transport === 'ws') return `SIP/2.0/WS ${WS_HOST};branch=${branch};rport`;
    return `SIP/2.0/${this.transport.toUpperCase()} ${this.host}:${this.sourcePort};branch=${branch};rport`;
  }

  /** Sends a message to the proxy; `lines` without Content-Length, which is added. */
  send(lines: string[], body = ''): void {
    const text = `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
    this.sendRaw(Buffer.from(text, 'latin1'));
  }

  /** Answers a request it received, through the proxy (its Via), copying its Record-Routes. */
  answer(request: SipMessage, status: number, user: string, tag: string, body = ''): void {
    const headers: [string, string][] = request.values('record-route').map((v) => ['Record-Route', v]);
    if (status >= 200 && status < 300) headers.push(['Contact', this.contact(user)]);
    const response = buildResponse(request, status, { toTag: tag, headers });
    if (body !== '') {
      response.replaceFirst('Content-Length', String(Buffer.byteLength(body, 'latin1')));
      response.append('Content-Type', 'application/sdp');
    }
    this.sendRaw(Buffer.concat([response.toBuffer(), Buffer.from(body, 'latin1')]), this.arrivedOn.get(request));
  }

  /** The first message received (now or within `timeoutMs`) that matches. */
  async next(match: (m: SipMessage) => boolean, timeoutMs = 5000): Promise<SipMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const seen = this.received.map((m) => m.toString().split('\r\n')[0]).join(' | ');
        throw new Error(`${this.transport} peer ${this.address}:${this.port}: nothing matching; received: ${seen}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.udp?.close();
    this.ws?.terminate();
    this.connection?.destroy();
    for (const socket of this.accepted) socket.destroy();
    this.server?.close();
  }

  private sendRaw(data: Buffer, connection = this.connection): void {
    if (this.udp !== undefined) this.udp.send(data, this.proxy.port, this.proxy.address);
    else if (this.ws !== undefined) this.ws.send(data.toString('utf8'));
    else connection!.write(data);
  }

  private read(socket: Socket): void {
    if (socket !== this.connection) this.accepted.push(socket);
    const framer = new StreamFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const event of framer.push(chunk)) {
        if (event.type !== 'message') continue;
        this.arrivedOn.set(event.message, socket);
        this.received.push(event.message);
      }
    });
    socket.on('error', () => undefined);
  }

  private take(data: Buffer): void {
    try {
      this.received.push(parseMessage(data));
    } catch {
      // Not SIP (a keep-alive): nothing to collect.
    }
  }
}
