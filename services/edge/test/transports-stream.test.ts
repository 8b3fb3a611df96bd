import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConnectionLimit,
  StreamTransport,
  tcpSockets,
  tlsSockets,
  type Endpoint,
  type StreamRejectReason,
  type StreamTransportOptions,
} from '../src/transports/index.js';
import { makeTestCertificates, type TestCertificates } from '../src/testing/index.js';
import { sipMessage } from './support/sip.js';
import { Recorder } from './support/transport-recorder.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const WAIT = { timeout: 2000, interval: 5 };
const LOOPBACK: Endpoint = { address: '127.0.0.1', port: 0 };

function options(n: number, transport = 'TCP'): Buffer {
  return sipMessage([
    'OPTIONS sip:edge@example.com SIP/2.0',
    `Via: SIP/2.0/${transport} 127.0.0.1:5099;branch=z9hG4bK-s-${n}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:edge@example.com>',
    `Call-ID: stream-${n}@test`,
    `CSeq: ${n} OPTIONS`,
  ]);
}

const SDP = 'v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n';

function invite(n: number): Buffer {
  return sipMessage(
    [
      'INVITE sip:bob@example.com SIP/2.0',
      `Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-i-${n}`,
      'Max-Forwards: 70',
      'From: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      `Call-ID: invite-${n}@test`,
      `CSeq: ${n} INVITE`,
      'Contact: <sip:alice@127.0.0.1:5099;transport=tcp>',
      'Content-Type: application/sdp',
    ],
    SDP,
  );
}

const OK_200 = sipMessage([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-r-1',
  'From: <sip:edge@example.com>;tag=e1',
  'To: <sip:alice@example.com>;tag=a1',
  'Call-ID: reply-1@test',
  'CSeq: 1 OPTIONS',
]);

/** A peer's socket with everything it has received and whether it has closed. */
interface Peer {
  socket: Socket;
  data: () => string;
  closed: () => boolean;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(socket: Socket): Peer {
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  cleanups.push(() => socket.destroy());
  return { socket, data: () => Buffer.concat(chunks).toString('latin1'), closed: () => closed };
}

async function startTransport(
  overrides: Partial<StreamTransportOptions> = {},
): Promise<{ transport: StreamTransport; recorder: Recorder; address: Endpoint }> {
  const recorder = new Recorder();
  const transport = new StreamTransport({
    sockets: tcpSockets(),
    edgeId: 'e1',
    listen: [LOOPBACK],
    handler: recorder.handler,
    logger,
    ...overrides,
  });
  cleanups.push(() => transport.close());
  await transport.start();
  return { transport, recorder, address: transport.addresses()[0]! };
}

async function tcpClient(to: Endpoint): Promise<Peer> {
  const socket = netConnect({ host: to.address, port: to.port });
  const peer = track(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return peer;
}

/**
 * A TCP transport that closes a flow whose message takes longer than `messageTimeoutMs` (plus
 * `overrides`), a peer connected to it and the flows it timed out.
 */
async function withMessageTimeout(messageTimeoutMs: number, overrides: Partial<StreamTransportOptions> = {}) {
  const timedOut: string[] = [];
  const { recorder, address } = await startTransport({
    messageTimeoutMs,
    onMessageTimeout: (flowId) => timedOut.push(flowId),
    ...overrides,
  });
  return { recorder, peer: await tcpClient(address), timedOut };
}

/** A plain server that records what each accepted connection receives. */
async function listenServer(create: (onConnection: (socket: Socket) => void) => Server): Promise<{
  address: Endpoint;
  peers: Peer[];
}> {
  const peers: Peer[] = [];
  const server = create((socket) => peers.push(track(socket)));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no server address');
  return { address: { address: address.address, port: address.port }, peers };
}

/** A port nobody listens on (it was free a moment ago). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return address.port;
}

/** Can this machine listen on ::1? (the IPv6 test is skipped, with the reason, if not.) */
const ipv6Error = await freePort('::1').then(
  () => undefined,
  (error: Error) => error.message,
);
if (ipv6Error !== undefined)
  process.stderr.write(`transports-stream: IPv6 test skipped, cannot listen on ::1: ${ipv6Error}\n`);

describe('StreamTransport over TCP', () => {
  it('reports the flow and two messages written at once, with their arrival', async () => {
    const { transport, recorder, address } = await startTransport();
    expect(address.port).toBeGreaterThan(0);
    const peer = await tcpClient(address);
    peer.socket.write(Buffer.concat([options(1), options(2)]));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(2), WAIT);
    const [opened] = recorder.opened;
    const source = { address: '127.0.0.1', port: peer.socket.localPort };
    expect(opened).toEqual({
      kind: 'opened',
      flowId: expect.stringMatching(/^f-e1-\d+-[0-9a-f]{8}$/),
      transport: 'tcp',
      remote: source,
    });
    expect(recorder.messages.map((m) => m.message.callId)).toEqual(['stream-1@test', 'stream-2@test']);
    expect(recorder.messages[0]!.arrival).toEqual({
      transport: 'tcp',
      source,
      local: address,
      flowId: opened!.flowId,
      receivedAt: expect.any(Number),
    });
    expect(transport.flows()).toEqual([opened!.flowId]);
    expect(transport.flow(opened!.flowId)).toEqual({
      id: opened!.flowId,
      transport: 'tcp',
      direction: 'inbound',
      remote: source,
      local: address,
    });
  });

  it('frames one message split across several delayed writes', async () => {
    const { recorder, address } = await startTransport();
    const peer = await tcpClient(address);
    const bytes = invite(3);
    for (const cut of [
      [0, 10],
      [10, 200],
      [200, bytes.length - 5],
      [bytes.length - 5, bytes.length],
    ]) {
      peer.socket.write(bytes.subarray(cut[0], cut[1]));
      await sleep(15);
      if (cut[1] !== bytes.length) expect(recorder.messages).toHaveLength(0);
    }
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    const { message } = recorder.messages[0]!;
    expect(message.method).toBe('INVITE');
    expect(message.body.toString()).toBe(SDP);
  });

  it('answers a CRLFCRLF ping with one CRLF and keeps the connection (RFC 5626 §4.4.1)', async () => {
    const { transport, recorder, address } = await startTransport();
    const peer = await tcpClient(address);
    peer.socket.write('\r\n\r\n');
    await vi.waitFor(() => expect(peer.data()).toBe('\r\n'), WAIT);
    await sleep(30);
    expect(peer.data()).toBe('\r\n');
    expect(peer.closed()).toBe(false);
    peer.socket.write(options(4));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(transport.flows()).toHaveLength(1);
    expect(recorder.errors).toEqual([]);
  });

  it('reports a malformed Content-Length as fatal and closes the connection after it', async () => {
    const { transport, recorder, address } = await startTransport();
    // A response sent from inside streamError still goes out before the connection ends.
    recorder.onError = (_error, fatal, arrival) => {
      if (fatal) transport.send(arrival.flowId!, Buffer.from('SIP/2.0 400 Malformed Content-Length\r\n\r\n'));
    };
    const peer = await tcpClient(address);
    peer.socket.write(options(5).toString().replace('Content-Length: 0', 'Content-Length: 1x'));
    await vi.waitFor(() => expect(peer.closed()).toBe(true), WAIT);
    expect(peer.data()).toBe('SIP/2.0 400 Malformed Content-Length\r\n\r\n');
    expect(recorder.errors).toHaveLength(1);
    const { error, fatal, arrival } = recorder.errors[0]!;
    expect(fatal).toBe(true);
    expect(error.code).toBe('bad-content-length');
    expect(arrival.flowId).toBe(recorder.opened[0]!.flowId);
    await vi.waitFor(() => expect(recorder.closed).toEqual([arrival.flowId]), WAIT);
    expect(transport.flows()).toEqual([]);
    expect(transport.send(arrival.flowId!, Buffer.from('late'))).toBe(false);
  });

  it('reports a framed but invalid message and delivers the next one', async () => {
    const { recorder, address } = await startTransport();
    const peer = await tcpClient(address);
    const noCallId = options(6)
      .toString()
      .replace(/Call-ID: [^\r]*\r\n/, '');
    peer.socket.write(noCallId + options(7).toString());
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.errors).toHaveLength(1);
    expect(recorder.errors[0]!.fatal).toBe(false);
    expect(recorder.errors[0]!.error.code).toBe('missing-header');
    expect(recorder.messages[0]!.message.callId).toBe('stream-7@test');
    expect(peer.closed()).toBe(false);
  });

  it('closes an idle flow; traffic resets the idle timer', async () => {
    const { transport, recorder, address } = await startTransport({ idleTimeoutMs: 200, closeGraceMs: 100 });
    const peer = await tcpClient(address);
    for (let i = 0; i < 6; i += 1) {
      await sleep(70);
      peer.socket.write('\r\n\r\n');
    }
    // 420 ms after opening, but never 200 ms without traffic.
    expect(peer.closed()).toBe(false);
    expect(transport.flows()).toHaveLength(1);
    await vi.waitFor(() => expect(peer.closed()).toBe(true), WAIT);
    await vi.waitFor(() => expect(recorder.closed).toHaveLength(1), WAIT);
    expect(transport.flows()).toEqual([]);
  });

  it('refuses a banned source when it connects, before it is a flow, and counts it', async () => {
    const banned = new Set(['127.0.0.1']);
    const rejected: Array<[StreamRejectReason, Endpoint]> = [];
    const { recorder, address } = await startTransport({
      isBanned: (a) => banned.has(a),
      onRejected: (reason, source) => rejected.push([reason, source]),
    });
    const refused = await tcpClient(address);
    await vi.waitFor(() => expect(refused.closed()).toBe(true), WAIT);
    expect([rejected.map(([reason]) => reason), recorder.opened]).toEqual([['banned'], []]);
    banned.clear();
    await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
  });

  it('refuses connections over the per-source limit and counts them', async () => {
    const rejected: Array<[StreamRejectReason, Endpoint]> = [];
    const { transport, recorder, address } = await startTransport({
      maxConnectionsPerSource: 2,
      onRejected: (reason, source) => rejected.push([reason, source]),
    });
    const first = await tcpClient(address);
    await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(2), WAIT);
    const third = await tcpClient(address);
    const thirdPort = third.socket.localPort;
    await vi.waitFor(() => expect(third.closed()).toBe(true), WAIT);
    expect(rejected).toEqual([['per-source-limit', { address: '127.0.0.1', port: thirdPort }]]);
    expect(recorder.opened).toHaveLength(2);
    // A closed connection frees its place.
    first.socket.end();
    await vi.waitFor(() => expect(transport.flows()).toHaveLength(1), WAIT);
    const fourth = await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(3), WAIT);
    expect(fourth.closed()).toBe(false);
    expect(rejected).toHaveLength(1);
  });

  it('sends on the connection the request came on (§18.2.2); false once the flow is closed', async () => {
    const { transport, recorder, address } = await startTransport();
    const peer = await tcpClient(address);
    peer.socket.write(options(8));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    const flowId = recorder.messages[0]!.arrival.flowId!;
    expect(transport.send(flowId, OK_200)).toBe(true);
    await vi.waitFor(() => expect(peer.data()).toBe(OK_200.toString()), WAIT);
    peer.socket.end();
    await vi.waitFor(() => expect(recorder.closed).toEqual([flowId]), WAIT);
    expect(transport.send(flowId, OK_200)).toBe(false);
    expect(transport.send('f-e1-0-00000000', OK_200)).toBe(false);
    expect(transport.flow(flowId)).toBeUndefined();
  });

  it('destroys a flow whose peer does not read rather than queueing without bound', async () => {
    const { transport, recorder, address } = await startTransport({ maxWriteBufferBytes: 1024 });
    await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
    const flowId = recorder.opened[0]!.flowId;
    expect(transport.send(flowId, Buffer.alloc(2048))).toBe(false);
    await vi.waitFor(() => expect(recorder.closed).toEqual([flowId]), WAIT);
  });

  it('survives a reset by the peer', async () => {
    const { transport, recorder, address } = await startTransport();
    const peer = await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
    peer.socket.resetAndDestroy();
    await vi.waitFor(() => expect(recorder.closed).toHaveLength(1), WAIT);
    expect(transport.flows()).toEqual([]);
  });

  it('connect() opens a flow that sends and receives', async () => {
    const { transport, recorder } = await startTransport();
    const server = await listenServer((onConnection) => createNetServer(onConnection));
    const flowId = await transport.connect(server.address);
    expect(flowId).toMatch(/^f-e1-\d+-[0-9a-f]{8}$/);
    expect(recorder.opened).toEqual([{ kind: 'opened', flowId, transport: 'tcp', remote: server.address }]);
    expect(transport.flow(flowId)).toMatchObject({ direction: 'outbound', remote: server.address });
    expect(transport.send(flowId, options(9))).toBe(true);
    await vi.waitFor(() => expect(server.peers[0]?.data()).toBe(options(9).toString()), WAIT);
    server.peers[0]!.socket.write(OK_200);
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.messages[0]!.message.status).toBe(200);
    expect(recorder.messages[0]!.arrival).toMatchObject({ transport: 'tcp', flowId, source: server.address });
  });

  it('connect() reuses the connection it opened to a destination, also for callers at the same time (§18.1.1)', async () => {
    const { transport } = await startTransport();
    const server = await listenServer((onConnection) => createNetServer(onConnection));
    const flows = await Promise.all(Array.from({ length: 10 }, () => transport.connect(server.address)));
    expect(new Set(flows).size).toBe(1);
    expect(await transport.connect(server.address)).toBe(flows[0]);
    expect(server.peers).toHaveLength(1);
    // Once it is gone, the next request opens a new one.
    server.peers[0]!.socket.destroy();
    await vi.waitFor(() => expect(transport.flow(flows[0]!)).toBeUndefined(), WAIT);
    const next = await transport.connect(server.address);
    expect(next).not.toBe(flows[0]);
    expect(server.peers).toHaveLength(2);
  });

  it('connect() to a client’s own address uses the connection the client opened (a Contact naming its source port)', async () => {
    const { transport, recorder, address } = await startTransport();
    const client = await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
    const source = { address: '127.0.0.1', port: client.socket.localPort! };
    expect(await transport.connect(source)).toBe(recorder.opened[0]!.flowId);
    expect(recorder.opened).toHaveLength(1);
  });

  it('connect() rejects when nobody listens, for a host name, and after close()', async () => {
    const { transport } = await startTransport();
    const nobody = { address: '127.0.0.1', port: await freePort() };
    await expect(transport.connect(nobody)).rejects.toThrow(/tcp: connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    await expect(transport.connect({ address: 'example.com', port: 5060 })).rejects.toThrow(/not an IP address/);
    await transport.close();
    await expect(transport.connect(nobody)).rejects.toThrow(/transport is closed/);
  });

  it('close() ends every flow and reports it', async () => {
    const { transport, recorder, address } = await startTransport();
    const a = await tcpClient(address);
    const b = await tcpClient(address);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(2), WAIT);
    await transport.close();
    expect(recorder.closed.sort()).toEqual(recorder.opened.map((o) => o.flowId).sort());
    await vi.waitFor(() => expect(a.closed() && b.closed()).toBe(true), WAIT);
    expect(transport.flows()).toEqual([]);
    await expect(tcpClient(address)).rejects.toThrow(/ECONNREFUSED/);
  });

  it.skipIf(ipv6Error !== undefined)('listens on ::1', async () => {
    const { recorder, address } = await startTransport({ listen: [{ address: '::1', port: 0 }] });
    expect(address.address).toBe('::1');
    const peer = await tcpClient(address);
    peer.socket.write(options(10));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.messages[0]!.arrival.source).toEqual({ address: '::1', port: peer.socket.localPort });
  });
});

describe('StreamTransport over TLS', () => {
  let pki: TestCertificates;
  beforeAll(async () => {
    pki = await makeTestCertificates();
  });

  async function startTls(
    overrides: Partial<StreamTransportOptions> = {},
  ): Promise<{ transport: StreamTransport; recorder: Recorder; address: Endpoint }> {
    return startTransport({
      sockets: tlsSockets({ key: pki.key, cert: pki.cert, ca: pki.ca, client: { servername: 'localhost' } }, logger),
      ...overrides,
    });
  }

  it('accepts a verifying TLS client and delivers its message', async () => {
    const { transport, recorder, address } = await startTls();
    const socket = tlsConnect({ host: address.address, port: address.port, ca: pki.ca, servername: 'localhost' });
    const peer = track(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.authorized).toBe(true);
    socket.write(options(11, 'TLS'));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    const flowId = recorder.opened[0]!.flowId;
    expect(recorder.opened[0]).toMatchObject({
      transport: 'tls',
      remote: { address: '127.0.0.1', port: socket.localPort },
    });
    expect(recorder.messages[0]!.arrival).toMatchObject({ transport: 'tls', flowId, local: address });
    expect(transport.send(flowId, OK_200)).toBe(true);
    await vi.waitFor(() => expect(peer.data()).toBe(OK_200.toString()), WAIT);
    socket.write('\r\n\r\n');
    await vi.waitFor(() => expect(peer.data()).toBe(OK_200.toString() + '\r\n'), WAIT);
  });

  it('reports a failed handshake as rejected', async () => {
    const rejected: StreamRejectReason[] = [];
    const { recorder, address } = await startTls({ onRejected: (reason) => rejected.push(reason) });
    const peer = await tcpClient(address);
    peer.socket.write(options(12));
    await vi.waitFor(() => expect(peer.closed()).toBe(true), WAIT);
    await vi.waitFor(() => expect(rejected).toEqual(['handshake-failed']), WAIT);
    expect(recorder.events).toEqual([]);
  });

  it('connect() over TLS verifies the server and carries messages both ways', async () => {
    const { transport, recorder } = await startTls();
    const server = await listenServer((onConnection) =>
      createTlsServer({ key: pki.key, cert: pki.cert }, onConnection),
    );
    const flowId = await transport.connect(server.address);
    expect(recorder.opened).toEqual([{ kind: 'opened', flowId, transport: 'tls', remote: server.address }]);
    expect(transport.send(flowId, options(13, 'TLS'))).toBe(true);
    await vi.waitFor(() => expect(server.peers[0]?.data()).toBe(options(13, 'TLS').toString()), WAIT);
    server.peers[0]!.socket.write(OK_200);
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.messages[0]!.arrival).toMatchObject({ transport: 'tls', flowId });
  });

  it('connect() over TLS rejects a server whose certificate does not verify', async () => {
    // The transport trusts only Node's root store here, not the test CA.
    const { transport, recorder } = await startTransport({
      sockets: tlsSockets({ key: pki.key, cert: pki.cert, client: { servername: 'localhost' } }, logger),
    });
    const server = await listenServer((onConnection) =>
      createTlsServer({ key: pki.key, cert: pki.cert }, onConnection),
    );
    await expect(transport.connect(server.address)).rejects.toThrow(/tls: connect to 127\.0\.0\.1:\d+: .*certificate/);
    // Nor does a name the certificate does not hold verify, even with the CA trusted.
    const trusting = await startTls();
    await expect(trusting.transport.connect(server.address, { servername: 'sip.example.com' })).rejects.toThrow(
      /sip\.example\.com/,
    );
    expect(recorder.opened).toEqual([]);
    expect(trusting.recorder.opened).toEqual([]);
  });

  it('connect() gives up after connectTimeoutMs when the handshake never completes', async () => {
    const { transport, recorder } = await startTls({ connectTimeoutMs: 150 });
    // A TCP server that accepts and never answers the ClientHello.
    const silent = await listenServer((onConnection) => createNetServer(onConnection));
    const started = Date.now();
    await expect(transport.connect(silent.address)).rejects.toThrow(/no connection after 150 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(silent.peers[0]?.closed()).toBe(true), WAIT);
    expect(recorder.opened).toEqual([]);
  });

  it('closes an idle TLS flow', async () => {
    const { recorder, address } = await startTls({ idleTimeoutMs: 150, closeGraceMs: 100 });
    const socket = tlsConnect({ host: address.address, port: address.port, ca: pki.ca, servername: 'localhost' });
    const peer = track(socket);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(peer.closed()).toBe(true), WAIT);
    // The client may see the close before the transport reports flowClosed.
    await vi.waitFor(() => expect(recorder.closed).toEqual([recorder.opened[0]!.flowId]), WAIT);
  });
});

describe('StreamTransport limits (issue 14: abuse)', () => {
  let pki: TestCertificates;
  beforeAll(async () => {
    pki = await makeTestCertificates();
  });

  /** A TLS client that never completes (or never starts) its handshake still shows when it is closed. */
  function tlsClient(to: Endpoint): Peer & { secured: Promise<boolean> } {
    const socket = tlsConnect({ host: to.address, port: to.port, ca: pki.ca, servername: 'localhost' });
    const peer = track(socket);
    const secured = new Promise<boolean>((resolve) => {
      socket.once('secureConnect', () => resolve(true));
      socket.once('close', () => resolve(false));
    });
    return { ...peer, secured };
  }

  /** Writes `bytes` one chunk every `everyMs` while the peer is open; resolves with when the first went. */
  function trickle(
    peer: Peer,
    bytes: Buffer,
    chunk: number,
    everyMs: number,
  ): { started: number; done: Promise<void> } {
    const started = Date.now();
    const done = (async () => {
      for (let at = 0; at < bytes.length && !peer.closed(); at += chunk) {
        peer.socket.write(bytes.subarray(at, at + chunk));
        await sleep(everyMs);
      }
    })();
    return { started, done };
  }

  it('counts TCP and TLS connections against one total, refusing beyond it before any TLS work', async () => {
    const limit = new ConnectionLimit(2);
    const rejected: Array<[string, StreamRejectReason]> = [];
    const tcp = await startTransport({ connectionLimit: limit, onRejected: (r) => rejected.push(['tcp', r]) });
    const tls = await startTransport({
      sockets: tlsSockets({ key: pki.key, cert: pki.cert, ca: pki.ca }, logger),
      connectionLimit: limit,
      onRejected: (r) => rejected.push(['tls', r]),
    });
    const first = await tcpClient(tcp.address);
    const second = tlsClient(tls.address);
    expect(await second.secured).toBe(true);
    await vi.waitFor(() => expect(tcp.recorder.opened.length + tls.recorder.opened.length).toBe(2), WAIT);
    expect(limit.open).toBe(2);

    const overTcp = await tcpClient(tcp.address);
    const overTls = tlsClient(tls.address);
    expect(await overTls.secured).toBe(false); // no ServerHello: refused before the handshake
    await vi.waitFor(() => expect(overTcp.closed()).toBe(true), WAIT);
    expect(rejected.sort()).toEqual([
      ['tcp', 'total-limit'],
      ['tls', 'total-limit'],
    ]);
    // An outgoing connection needs a place too, and none is opened without one.
    const server = await listenServer((onConnection) => createNetServer(onConnection));
    await expect(tcp.transport.connect(server.address)).rejects.toThrow(/connection limit reached \(2\)/);
    expect(server.peers).toEqual([]);

    // A closed connection gives its place back, whichever transport it was on.
    first.socket.end();
    await vi.waitFor(() => expect(limit.open).toBe(1), WAIT);
    const third = tlsClient(tls.address);
    expect(await third.secured).toBe(true);
    await vi.waitFor(() => expect(tls.recorder.opened).toHaveLength(2), WAIT);
    await tls.transport.close();
    await vi.waitFor(() => expect(limit.open).toBe(0), WAIT);
    // An outgoing flow holds a place that an accepted connection then cannot take.
    const outgoing = await tcp.transport.connect(server.address);
    expect(tcp.transport.flow(outgoing)?.direction).toBe('outbound');
    await tcpClient(tcp.address);
    await vi.waitFor(() => expect(tcp.recorder.opened).toHaveLength(3), WAIT);
    expect(limit.open).toBe(2);
    const refused = await tcpClient(tcp.address);
    await vi.waitFor(() => expect(refused.closed()).toBe(true), WAIT);
    expect(rejected.filter(([, reason]) => reason === 'total-limit')).toHaveLength(3);
  });

  it('closes a flow whose message trickles in for longer than messageTimeoutMs, and reports it', async () => {
    const { recorder, peer, timedOut } = await withMessageTimeout(400, { idleTimeoutMs: 60_000, closeGraceMs: 100 });
    // One byte every 40 ms: the idle timeout never fires, the message would take 16 s.
    const slow = trickle(peer, options(20), 1, 40);
    await vi.waitFor(() => expect(peer.closed()).toBe(true), { timeout: 3000, interval: 5 });
    const after = Date.now() - slow.started;
    await slow.done;
    expect(after).toBeGreaterThanOrEqual(400);
    expect(after).toBeLessThan(400 + 600);
    expect(timedOut).toEqual([recorder.opened[0]!.flowId]);
    expect(recorder.messages).toEqual([]);
    await vi.waitFor(() => expect(recorder.closed).toEqual(timedOut), WAIT);
  });

  it('does not start the message clock for CRLF keep-alives between messages (RFC 5626 §4.4.1)', async () => {
    const { recorder, peer, timedOut } = await withMessageTimeout(200);
    peer.socket.write(options(21));
    for (let i = 0; i < 5; i++) {
      peer.socket.write('\r\n');
      await sleep(60);
      peer.socket.write('\r\n'); // a ping split in two, 60 ms apart
      await sleep(60);
    }
    peer.socket.write('\r\n'); // half a ping, left buffered for longer than the timeout
    await sleep(400);
    expect(peer.closed()).toBe(false);
    expect(peer.data()).toBe('\r\n'.repeat(5));
    peer.socket.write(`\r\n${options(22).toString()}`);
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(2), WAIT);
    expect(timedOut).toEqual([]);
  });

  it('passes messages that each arrive within the timeout, restarting the clock for every message', async () => {
    const { recorder, peer, timedOut } = await withMessageTimeout(300);
    const [a, b, c] = [invite(23), invite(24), invite(25)];
    // Each message takes 200 ms; three of them take twice the timeout. The last part of one
    // message and the first of the next go in one write.
    peer.socket.write(a.subarray(0, 100));
    await sleep(100);
    peer.socket.write(a.subarray(100, 200));
    await sleep(100);
    peer.socket.write(Buffer.concat([a.subarray(200), b.subarray(0, 100)]));
    await sleep(100);
    peer.socket.write(b.subarray(100, 200));
    await sleep(100);
    peer.socket.write(Buffer.concat([b.subarray(200), c.subarray(0, 100)]));
    await sleep(200);
    peer.socket.write(c.subarray(100));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(3), WAIT);
    await sleep(400); // nothing buffered any more: no clock runs
    expect(recorder.messages.map((m) => m.message.callId)).toEqual([
      'invite-23@test',
      'invite-24@test',
      'invite-25@test',
    ]);
    expect(timedOut).toEqual([]);
    expect(peer.closed()).toBe(false);
  });

  it('destroys a flow whose peer sends keep-alive pings without reading the pongs', async () => {
    const { recorder, address } = await startTransport({ maxWriteBufferBytes: 1024 });
    const peer = await tcpClient(address);
    peer.socket.pause(); // reads nothing: the pongs pile up in the kernel, then in the edge
    // Pings until the edge gives up on the peer: a few MiB fill the kernel's buffers (unbounded,
    // the pongs would queue in the edge for as long as pings come).
    const pings = Buffer.from('\r\n\r\n'.repeat(16 * 1024));
    const started = Date.now();
    for (let written = 0; !peer.closed() && written < 64 * 1024 * 1024 && Date.now() - started < 3000;) {
      if (!peer.socket.write(pings)) await new Promise((r) => peer.socket.once('drain', r).once('close', r));
      written += pings.length;
    }
    await vi.waitFor(() => expect(recorder.closed).toHaveLength(1), WAIT);
  });

  it('closes a flow whose unfinished message outgrows maxMessageSize instead of buffering it', async () => {
    const { recorder, address } = await startTransport({ maxMessageSize: 2048, messageTimeoutMs: 0 });
    const peer = await tcpClient(address);
    // A header section that never ends: 64 KiB written 512 bytes at a time.
    const endless = Buffer.from('OPTIONS sip:edge@example.com SIP/2.0\r\nX-Junk: '.padEnd(64 * 1024, 'y'));
    await trickle(peer, endless, 512, 1).done;
    await vi.waitFor(() => expect(peer.closed()).toBe(true), WAIT);
    expect(recorder.errors).toHaveLength(1);
    expect(recorder.errors[0]).toMatchObject({ fatal: true, error: { code: 'too-large' } });
    expect(recorder.messages).toEqual([]);
  });
});
