/**
 * HEP v3 export (issue 18 item 2) from `sipedge all` as users run it (standalone, in memory), to a
 * HEP collector of the test's own on the loopback: every SIP message the edge receives and sends —
 * over UDP, TCP and WebSocket, requests and responses, the worker's deliveries and the edge's own
 * stateless answers — arrives decoded with its bytes exactly as they went over the wire, its
 * endpoints, IP protocol (17 UDP, 6 TCP and WS), agent id, auth key and the Call-ID as correlation
 * id. With sampling 0 nothing is exported.
 */
import type { RemoteInfo } from 'node:dgram';
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../support/free-port.js';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { HepReceiver } from '../support/hep-receiver.js';
import { TcpClient, UdpClient, sipRequest } from '../support/sip-client.js';

const LOOPBACK = '127.0.0.1';
const AGENT_ID = 4242;
const PASSWORD = 'homer-secret';

/** The first datagram (now or within `timeoutMs`) that parses and matches: its bytes and the message. */
async function datagram(
  client: UdpClient,
  match: (m: SipMessage) => boolean,
  timeoutMs = 10_000,
): Promise<{ raw: Buffer; message: SipMessage; from: RemoteInfo }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const { data, from } of client.received) {
      let message: SipMessage;
      try {
        message = parseMessage(data);
      } catch {
        continue;
      }
      if (match(message)) return { raw: data, message, from };
    }
    if (Date.now() > deadline) throw new Error('no matching datagram');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const final = (callId: string) => (m: SipMessage) => m.isResponse && m.status >= 200 && m.callId === callId;

describe('HEP export from sipedge all', () => {
  let hep: HepReceiver;
  let deployment: Deployment;
  let wsPort: number;
  const edge = () => ({ address: LOOPBACK, port: deployment.port });

  beforeAll(async () => {
    hep = await HepReceiver.open();
    wsPort = await freePort();
    deployment = await startDeployment('standalone', {
      env: {
        SIPEDGE_HEP_ADDRESS: hep.address,
        SIPEDGE_HEP_AGENT_ID: String(AGENT_ID),
        SIPEDGE_HEP_PASSWORD: PASSWORD,
        SIPEDGE_WS: `${LOOPBACK}:${wsPort}`,
        SIPEDGE_DOMAINS: 'example.com',
      },
    });
  });

  afterAll(async () => {
    await deployment?.stop();
    await hep?.close();
  });

  it('says it exports, and where', () => {
    const line = deployment
      .processes()[0]!
      .output()
      .split('\n')
      .find((l) => l.includes('hep: exporting'));
    expect(line).toBeDefined();
    expect(line).toContain(`"port":${hep.port}`);
    expect(line).toContain(`"agentId":${AGENT_ID}`);
  });

  it('exports a UDP call flow both ways: REGISTER, MESSAGE relayed to the registered UA, its 200 back', async () => {
    const [bob, alice] = [await UdpClient.open(), await UdpClient.open()];
    try {
      const register = sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/UDP ${LOOPBACK}:${bob.port};branch=z9hG4bK-hep-reg;rport`,
        callId: 'hep-udp-reg',
        extra: [`Contact: <sip:bob@${LOOPBACK}:${bob.port}>`],
      });
      await bob.send(register, deployment.port);
      const registered = await datagram(bob, final('hep-udp-reg'));
      expect(registered.message.status).toBe(200);

      const message = sipRequest('MESSAGE', {
        via: `SIP/2.0/UDP ${LOOPBACK}:${alice.port};branch=z9hG4bK-hep-msg;rport`,
        callId: 'hep-udp-msg',
        body: 'hello over HEP',
        extra: ['Content-Type: text/plain'],
      });
      await alice.send(message, deployment.port);
      const relayed = await datagram(bob, (m) => m.isRequest && m.method === 'MESSAGE');
      const answer = buildResponse(relayed.message, 200, { toTag: 'bob' }).toBuffer();
      await bob.send(answer, deployment.port);
      const delivered = await datagram(alice, final('hep-udp-msg'));
      expect(delivered.message.status).toBe(200);

      const bobAt = { address: LOOPBACK, port: bob.port };
      const aliceAt = { address: LOOPBACK, port: alice.port };
      const common = { family: 2, ipProtocol: 17, protocolType: 1, agentId: AGENT_ID, password: PASSWORD };
      const flow: [Buffer | string, { address: string; port: number }, { address: string; port: number }, string][] = [
        [register, bobAt, edge(), 'hep-udp-reg'], // received
        [registered.raw, edge(), bobAt, 'hep-udp-reg'], // sent: the registrar's answer
        [message, aliceAt, edge(), 'hep-udp-msg'], // received
        [relayed.raw, edge(), bobAt, 'hep-udp-msg'], // sent: a request delivered for the proxy
        [answer, bobAt, edge(), 'hep-udp-msg'], // received
        [delivered.raw, edge(), aliceAt, 'hep-udp-msg'], // sent: the response forwarded
      ];
      const times: number[] = [];
      for (const [payload, source, destination, callId] of flow) {
        const packet = await hep.carried(payload);
        expect(packet).toMatchObject({ ...common, source, destination, correlationId: callId });
        times.push(packet.timeUs);
      }
      // In the order they happened, and now (the collector's clock is the edge's).
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(Math.abs(times[0]! / 1000 - Date.now())).toBeLessThan(60_000);
      // The MESSAGE the proxy relayed is not the one alice sent (Via, Max-Forwards): both are there.
      expect(Buffer.from(message, 'latin1').equals(relayed.raw)).toBe(false);
    } finally {
      bob.close();
      alice.close();
    }
  });

  it('exports TCP both ways as IP protocol 6 on the connection’s ports, the edge’s own answers too', async () => {
    const tcp = await TcpClient.open(deployment.port);
    const port = tcp.socket.localPort!;
    try {
      const register = sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/TCP ${LOOPBACK}:${port};branch=z9hG4bK-hep-tcp-reg`,
        callId: 'hep-tcp-reg',
        extra: [`Contact: <sip:carol@${LOOPBACK}:${port};transport=tcp>`],
      }).replace('To: <sip:bob@', 'To: <sip:carol@');
      tcp.write(register);
      await tcp.waitFor((d) => d.includes('hep-tcp-reg'), 10_000);
      // OPTIONS to the edge itself: answered by the edge, statelessly.
      const options = sipRequest('OPTIONS', {
        uri: `sip:${LOOPBACK}:${deployment.port};transport=tcp`,
        via: `SIP/2.0/TCP ${LOOPBACK}:${port};branch=z9hG4bK-hep-tcp-opt`,
        callId: 'hep-tcp-opt',
      });
      tcp.write(options);
      const data = await tcp.waitFor((d) => d.includes('hep-tcp-opt'), 10_000);
      const [first, second] = splitMessages(data);
      expect(parseMessage(first!).callId).toBe('hep-tcp-reg');
      expect(parseMessage(second!).callId).toBe('hep-tcp-opt');
      const client = { address: LOOPBACK, port };
      const common = { ipProtocol: 6, agentId: AGENT_ID, password: PASSWORD };
      expect(await hep.carried(register)).toMatchObject({ ...common, source: client, destination: edge() });
      expect(await hep.carried(first!)).toMatchObject({ ...common, source: edge(), destination: client });
      expect(await hep.carried(options)).toMatchObject({ ...common, source: client, destination: edge() });
      expect(await hep.carried(second!)).toMatchObject({
        ...common,
        source: edge(),
        destination: client,
        correlationId: 'hep-tcp-opt',
      });
    } finally {
      tcp.close();
    }
  });

  it('exports WebSocket messages both ways as IP protocol 6', async () => {
    const ws = new WebSocket(`ws://${LOOPBACK}:${wsPort}`, ['sip']);
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(Buffer.from(d)));
    const port = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    try {
      const register = sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: 'SIP/2.0/WS hep7118.invalid;branch=z9hG4bK-hep-ws-reg',
        callId: 'hep-ws-reg',
        extra: ['Contact: <sip:dave@hep7118.invalid;transport=ws>'],
      }).replace('To: <sip:bob@', 'To: <sip:dave@');
      ws.send(register);
      const deadline = Date.now() + 10_000;
      while (!got.some((d) => d.includes('hep-ws-reg')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const answer = got.find((d) => d.includes('hep-ws-reg'));
      expect(answer).toBeDefined();
      const client = { address: LOOPBACK, port };
      const ws6 = { ipProtocol: 6, agentId: AGENT_ID, password: PASSWORD };
      const edgeWs = { address: LOOPBACK, port: wsPort };
      expect(await hep.carried(register)).toMatchObject({ ...ws6, source: client, destination: edgeWs });
      expect(await hep.carried(answer!)).toMatchObject({ ...ws6, source: edgeWs, destination: client });
    } finally {
      ws.terminate();
    }
  });

  it('receives only well-formed HEP3 packets, each carrying one SIP message', () => {
    expect(hep.malformed).toEqual([]);
    expect(hep.packets.length).toBeGreaterThanOrEqual(12);
    for (const packet of hep.packets) expect(() => parseMessage(packet.payload)).not.toThrow();
  });
});

describe('HEP export with sampling 0', () => {
  let hep: HepReceiver;
  let deployment: Deployment;

  beforeAll(async () => {
    hep = await HepReceiver.open();
    deployment = await startDeployment('standalone', {
      env: { SIPEDGE_HEP_ADDRESS: hep.address, SIPEDGE_HEP_SAMPLING: '0', SIPEDGE_DOMAINS: 'example.com' },
    });
  });

  afterAll(async () => {
    await deployment?.stop();
    await hep?.close();
  });

  it('exports nothing, though SIP flows', async () => {
    // Export is on: sampling leaves every call out.
    const started = deployment
      .processes()[0]!
      .output()
      .split('\n')
      .find((l) => l.includes('hep: exporting'));
    expect(started).toContain('"samplingPercent":0');
    const ua = await UdpClient.open();
    try {
      for (const [method, callId] of [
        ['REGISTER', 'hep-none-reg'],
        ['OPTIONS', 'hep-none-opt'],
      ] as const) {
        await ua.send(
          sipRequest(method, {
            uri: method === 'OPTIONS' ? `sip:${LOOPBACK}:${deployment.port}` : 'sip:example.com',
            via: `SIP/2.0/UDP ${LOOPBACK}:${ua.port};branch=z9hG4bK-${callId}`,
            callId,
            extra: [`Contact: <sip:erin@${LOOPBACK}:${ua.port}>`],
          }).replace('To: <sip:bob@', 'To: <sip:erin@'),
          deployment.port,
        );
        expect((await datagram(ua, final(callId))).message.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(hep.packets).toEqual([]);
      expect(hep.malformed).toEqual([]);
    } finally {
      ua.close();
    }
  });
});

/** The SIP messages in a TCP byte stream (each framed by its Content-Length). */
function splitMessages(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const length = Number(/\r\nContent-Length:\s*(\d+)/i.exec(data.toString('latin1', at, headEnd))?.[1] ?? 0);
    const end = headEnd + 4 + length;
    out.push(data.subarray(at, end));
    at = end;
  }
  return out;
}
