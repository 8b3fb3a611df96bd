/**
 * Connections to a next hop are reused (§18.1.1, issue 15): 100 calls through a standalone sipedge
 * to one TCP next hop (a trunk of the test's own, answering each INVITE 486 and taking the ACKs) go
 * over one connection, not 100.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { type SipMessage, StreamFramer, buildResponse } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { SipPeer } from '../support/sip-peer.js';

const CALLS = 100;

/** A TCP trunk: counts its connections and the requests on them, answers INVITEs 486. */
class Trunk {
  readonly connections: Socket[] = [];
  readonly requests: SipMessage[] = [];
  private constructor(readonly server: Server) {}

  static async start(): Promise<Trunk> {
    const trunk = new Trunk(
      createServer((socket) => {
        trunk.connections.push(socket);
        const framer = new StreamFramer();
        socket.on('data', (chunk: Buffer) => {
          for (const event of framer.push(chunk)) {
            if (event.type !== 'message' || !event.message.isRequest) continue;
            trunk.requests.push(event.message);
            if (event.message.method === 'INVITE')
              socket.write(buildResponse(event.message, 486, { toTag: 't' }).toBuffer());
          }
        });
        socket.on('error', () => undefined);
      }),
    );
    await new Promise<void>((resolve) => trunk.server.listen(0, '127.0.0.1', resolve));
    return trunk;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  close(): void {
    for (const socket of this.connections) socket.destroy();
    this.server.close();
  }
}

describe('connection reuse towards a next hop', () => {
  let deployment: Deployment;
  let trunk: Trunk;
  beforeAll(async () => {
    deployment = await startDeployment('standalone');
    trunk = await Trunk.start();
  }, 60_000);
  afterAll(async () => {
    trunk?.close();
    await deployment?.stop();
  });

  it(`${CALLS} calls to one TCP next hop open one connection`, async () => {
    const caller = await SipPeer.open('udp', { address: '127.0.0.1', port: deployment.port });
    try {
      for (let i = 0; i < CALLS; i++) {
        caller.send([
          `INVITE sip:+1555${i}@127.0.0.1:${trunk.port};transport=tcp SIP/2.0`,
          `Via: ${caller.via()}`,
          'Max-Forwards: 70',
          `From: <sip:alice@127.0.0.1>;tag=reuse-${i}`,
          `To: <sip:+1555${i}@127.0.0.1>`,
          `Call-ID: reuse-${i}`,
          'CSeq: 1 INVITE',
          `Contact: ${caller.contact('alice')}`,
        ]);
      }
      for (let i = 0; i < CALLS; i++) {
        await caller.next((m) => m.isResponse && m.status === 486 && m.callId === `reuse-${i}`, 15_000);
      }
      const acks = () => trunk.requests.filter((m) => m.method === 'ACK').length;
      const deadline = Date.now() + 5000;
      while (acks() < CALLS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(trunk.requests.filter((m) => m.method === 'INVITE')).toHaveLength(CALLS);
      expect(acks()).toBe(CALLS);
      expect(trunk.connections).toHaveLength(1);
    } finally {
      caller.close();
    }
  }, 60_000);
});
