import { buildResponse, type SipMessage } from '@sipedge/sip';
import { type Cluster, nextMessage } from './cluster.js';
import { UdpClient } from './sip-client.js';

let seq = 0;

/** A SIP user agent on a UDP socket: registers, sends and answers requests. */
export class Ua {
  private constructor(
    readonly socket: UdpClient,
    readonly user: string,
    private readonly cluster: Cluster,
  ) {}

  static async open(cluster: Cluster, user: string): Promise<Ua> {
    return new Ua(await UdpClient.open(), user, cluster);
  }

  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.socket.port}>`;
  }

  send(lines: string[], body = ''): Promise<void> {
    const text = `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return this.socket.send(text, this.cluster.edgePort);
  }

  request(
    method: string,
    uri: string,
    callId: string,
    cseq = 1,
    extra: string[] = [],
    branch = `z9hG4bK${++seq}`,
  ): Promise<void> {
    return this.send([
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.socket.port};branch=${branch}`,
      'Max-Forwards: 70',
      `To: <${uri.replace(/;.*$/, '')}>`,
      `From: <sip:${this.user}@example.com>;tag=${this.user}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: ${this.contact}`,
      ...extra,
    ]);
  }

  async register(extra: string[] = [], callId = `reg-${this.user}-${this.socket.port}`, cseq = 1): Promise<SipMessage> {
    await this.send([
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${this.socket.port};branch=z9hG4bKreg${++seq}`,
      'Max-Forwards: 70',
      `To: <sip:${this.user}@example.com>`,
      `From: <sip:${this.user}@example.com>;tag=r`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      ...(extra.some((e) => e.startsWith('Contact:')) ? [] : [`Contact: ${this.contact}`]),
      ...extra,
    ]);
    return this.next((m) => m.isResponse && m.cseq.method === 'REGISTER' && m.cseq.seq === cseq);
  }

  answer(request: SipMessage, status: number, tag = this.user): Promise<void> {
    const headers: [string, string][] = request.values('Record-Route').map((v) => ['Record-Route', v]);
    if (status >= 200 && status < 300) headers.push(['Contact', this.contact]);
    return this.socket.send(buildResponse(request, status, { toTag: tag, headers }).toBuffer(), this.cluster.edgePort);
  }

  next(match: (m: SipMessage) => boolean, timeoutMs?: number): Promise<SipMessage> {
    return nextMessage(this.socket, match, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}
