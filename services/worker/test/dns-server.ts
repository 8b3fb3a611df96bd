import { type Socket, createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** One answer record of the test zone, in dns-packet's shape. */
export type ZoneRecord = dnsPacket.Answer;

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/**
 * A DNS server of the test's own on 127.0.0.1 (UDP, random port): answers from a fixed zone, NXDOMAIN
 * for names it does not hold, NOERROR with no answers for a held name without that type (NODATA),
 * and SERVFAIL for the names in `failing`; each answer after `delayMs`. `queries` lists what it was
 * asked (`TYPE name`), `answered` how many answers it has sent.
 */
export class TestDnsServer {
  readonly queries: string[] = [];
  answered = 0;

  private constructor(private readonly socket: Socket) {}

  get port(): number {
    return (this.socket.address() as AddressInfo).port;
  }

  static async start(
    zone: readonly ZoneRecord[],
    failing: readonly string[] = [],
    delayMs = 0,
  ): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    const server = new TestDnsServer(socket);
    socket.on('message', (data, from) => {
      const query = dnsPacket.decode(data);
      const question = query.questions?.[0];
      if (question === undefined) return;
      server.queries.push(`${question.type} ${question.name.toLowerCase()}`);
      const name = question.name.toLowerCase();
      const held = zone.filter((r) => r.name.toLowerCase() === name);
      const rcode = failing.includes(name) ? RCODE.SERVFAIL : held.length === 0 ? RCODE.NXDOMAIN : RCODE.NOERROR;
      const answers = rcode === RCODE.NOERROR ? held.filter((r) => r.type === question.type) : [];
      const reply = dnsPacket.encode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
        questions: [question],
        answers,
      });
      setTimeout(() => {
        server.answered++;
        socket.send(reply, from.port, from.address);
      }, delayMs);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return server;
  }

  close(): void {
    this.socket.close();
  }
}
