/**
 * HEP export from a whole Edge (real UDP, TCP and WS listeners on the loopback, the in-memory bus
 * and stores, a worker of the test's own): what the UAs send and what they get back — deliveries
 * for the worker, the edge's stateless answers, its NAT keep-alive OPTIONS — reaches a collector
 * of the test's own byte for byte, with the right endpoints; STUN and CRLF keep-alives do not.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Socket, connect } from 'node:net';
import { MemoryBusHub } from '@sipedge/bus';
import { QUEUES, SUBJECTS, decodeInbound, encodeOutbound } from '@sipedge/handoff';
import { buildResponse, parseMessage } from '@sipedge/sip';
import { createMemoryStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_EDGE_CONFIG, Edge } from '../src/index.js';
import { type DecodedHep, decodeHep } from '../src/hep/codec.js';
import type { Endpoint } from '../src/transports/types.js';
import { sipMessage } from './support/sip.js';

const logger = createLogger({ name: 'edge-hep-test', level: process.env.LOG_LEVEL ?? 'silent' });
const LOOPBACK = '127.0.0.1';

function request(method: string, transport: string, port: number, callId: string, uri = 'sip:example.com'): Buffer {
  return sipMessage([
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${LOOPBACK}:${port};branch=z9hG4bK-${callId};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=${callId}`,
    'To: <sip:alice@example.com>',
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:alice@${LOOPBACK}:${port}>`,
  ]);
}

/** A UA's UDP socket on the loopback, what it has received and its port; closed when the test ends. */
async function udpUa(): Promise<{ ua: UdpSocket; got: Buffer[]; port: number }> {
  const ua = createSocket('udp4');
  onTestFinished(() => void ua.close());
  const got: Buffer[] = [];
  ua.on('message', (d) => got.push(d));
  await new Promise<void>((resolve) => ua.bind(0, LOOPBACK, resolve));
  return { ua, got, port: ua.address().port };
}

/** Waits until `list` has an element matching, and returns it. */
async function waitFor<T>(list: T[], match: (item: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = list.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('an edge exporting HEP', () => {
  const hub = new MemoryBusHub();
  const packets: DecodedHep[] = [];
  let collector: UdpSocket;
  let edge: Edge;
  let stopWorker: () => Promise<void>;
  let sip: { udp: Endpoint; tcp: Endpoint; ws: Endpoint };

  /** The packet that carries exactly `payload`. */
  const carrying = (payload: Buffer) => waitFor(packets, (p) => p.payload.equals(payload), 'packet carrying it');

  beforeAll(async () => {
    collector = createSocket('udp4');
    collector.on('message', (data) => packets.push(decodeHep(data)));
    await new Promise<void>((resolve) => collector.bind(0, LOOPBACK, resolve));
    // The worker answers every request 200 through the edge that received it (outbound delivery).
    const worker = hub.connect({ logger });
    await worker.subscribe(
      SUBJECTS.inbound,
      async (m) => {
        const meta = decodeInbound(m.headers);
        const received = parseMessage(Buffer.from(m.data));
        if (received.isRequest) {
          const response = buildResponse(received, 200, { toTag: 'worker' });
          await worker.publish(
            SUBJECTS.edgeOutbound(meta.edgeId),
            response.toBuffer(),
            encodeOutbound({
              transport: meta.transport,
              destination: meta.source,
              flowId: meta.flowId,
              kind: 'response',
            }),
          );
        }
        return { data: new Uint8Array(0) };
      },
      { queue: QUEUES.workers },
    );
    stopWorker = () => worker.close();
    const listen = [{ address: LOOPBACK, port: 0 }];
    edge = new Edge(
      {
        ...DEFAULT_EDGE_CONFIG,
        edgeId: 'hep1',
        udp: listen,
        tcp: listen,
        websocket: { ...DEFAULT_EDGE_CONFIG.websocket, ws: listen },
        advertised: { host: LOOPBACK, port: 5060 },
        http: { address: LOOPBACK, port: 0 },
        natKeepalive: { mode: 'options', intervalMs: 1000, misses: 3 },
        hep: {
          collector: { address: LOOPBACK, port: collector.address().port },
          agentId: 77,
          password: 'hep-secret',
          samplingPercent: 100,
        },
      },
      { bus: hub.connect({ logger }), ...createMemoryStores(), logger, processMetrics: false },
    );
    await edge.start();
    const listening = edge.listening();
    sip = { udp: listening.udp[0]!, tcp: listening.tcp[0]!, ws: listening.ws[0]! };
  });

  afterAll(async () => {
    await edge?.stop();
    await stopWorker?.();
    collector?.close();
  });

  it('exports a UDP request received and the response delivered for the worker, byte for byte', async () => {
    const { ua, got, port } = await udpUa();
    const register = request('REGISTER', 'UDP', port, 'udp-reg');
    ua.send(register, sip.udp.port, LOOPBACK);
    const ok = await waitFor(got, (d) => d.toString('latin1').startsWith('SIP/2.0 200'), '200');
    const inbound = await carrying(register);
    expect(inbound).toMatchObject({
      family: 2,
      ipProtocol: 17,
      source: { address: LOOPBACK, port },
      destination: sip.udp,
      protocolType: 1,
      agentId: 77,
      password: 'hep-secret',
      correlationId: 'udp-reg',
    });
    const outbound = await carrying(ok);
    expect(outbound).toMatchObject({ ipProtocol: 17, source: sip.udp, destination: { address: LOOPBACK, port } });
    expect(outbound.timeUs).toBeGreaterThan(inbound.timeUs);

    // The edge's own stateless answer (OPTIONS to itself).
    const options = request('OPTIONS', 'UDP', port, 'udp-opt', `sip:${LOOPBACK}:${sip.udp.port}`);
    ua.send(options, sip.udp.port, LOOPBACK);
    const answer = await waitFor(got, (d) => d.toString('latin1').includes('Call-ID: udp-opt'), 'OPTIONS answer');
    expect((await carrying(options)).source.port).toBe(port);
    expect(await carrying(answer)).toMatchObject({ source: sip.udp, destination: { address: LOOPBACK, port } });

    // STUN and keep-alives: answered or ignored by the edge, never exported.
    const before = packets.length;
    const stun = Buffer.from('000100002112a442aabbccddeeff001122334455', 'hex');
    ua.send(stun, sip.udp.port, LOOPBACK);
    ua.send(Buffer.from('\r\n\r\n'), sip.udp.port, LOOPBACK);
    await waitFor(got, (d) => d[0] === 0x01 && d[1] === 0x01, 'STUN binding response');
    await new Promise((r) => setTimeout(r, 200));
    expect(packets.slice(before)).toEqual([]);
  });

  it('exports a TCP request and its response as IP protocol 6, on the connection’s endpoints; not the pong', async () => {
    const socket: Socket = connect({ host: LOOPBACK, port: sip.tcp.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    const port = socket.localPort!;
    try {
      socket.write('\r\n\r\n'); // a ping: answered with CRLF, not exported
      const register = request('REGISTER', 'TCP', port, 'tcp-reg');
      socket.write(register);
      await waitFor([0], () => data.includes('SIP/2.0 200'), 'TCP 200');
      const response = data.subarray(data.indexOf('SIP/2.0 200'));
      const inbound = await carrying(register);
      expect(inbound).toMatchObject({ ipProtocol: 6, source: { address: LOOPBACK, port }, destination: sip.tcp });
      const outbound = await carrying(response);
      expect(outbound).toMatchObject({ ipProtocol: 6, source: sip.tcp, destination: { address: LOOPBACK, port } });
      expect(packets.filter((p) => p.payload.toString('latin1').trim() === '')).toEqual([]);
    } finally {
      socket.destroy();
    }
  });

  it('exports WebSocket messages both ways as TCP', async () => {
    const ws = new WebSocket(`ws://${LOOPBACK}:${sip.ws.port}`, ['sip']);
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(Buffer.from(d)));
    const port = (ws as unknown as { _socket: Socket })._socket.localPort!;
    try {
      const register = request('REGISTER', 'WS', port, 'ws-reg');
      ws.send(register.toString('latin1'));
      const ok = await waitFor(got, (d) => d.toString('latin1').startsWith('SIP/2.0 200'), 'WS 200');
      expect(await carrying(register)).toMatchObject({
        ipProtocol: 6,
        source: { address: LOOPBACK, port },
        destination: sip.ws,
      });
      expect(await carrying(ok)).toMatchObject({
        ipProtocol: 6,
        source: sip.ws,
        destination: { address: LOOPBACK, port },
      });
    } finally {
      ws.terminate();
    }
  });

  it('exports its NAT keep-alive OPTIONS and the answer', async () => {
    const { ua, got, port } = await udpUa();
    const target = {
      destination: { address: LOOPBACK, port },
      until: Date.now() + 60_000,
      aor: 'a',
      contacts: ['c'],
    };
    await hub.connect({ logger }).publish(SUBJECTS.edgeKeepalive('hep1'), Buffer.from(JSON.stringify(target)));
    const ping = await waitFor(got, (d) => d.toString('latin1').startsWith('OPTIONS '), 'keep-alive', 5000);
    expect(await carrying(ping)).toMatchObject({ source: sip.udp, destination: { address: LOOPBACK, port } });
    const pong = buildResponse(parseMessage(ping), 200, { toTag: 'ua' }).toBuffer();
    ua.send(pong, sip.udp.port, LOOPBACK);
    expect(await carrying(pong)).toMatchObject({ source: { address: LOOPBACK, port }, destination: sip.udp });
  });

  it('counts what it exported', () => {
    const stats = edge.hep!.stats();
    expect(stats.sent).toBe(packets.length);
    expect(stats).toMatchObject({ errors: 0, droppedFull: 0, droppedOversize: 0, unsampled: 0 });
  });
});
