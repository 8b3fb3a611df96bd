import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  ConnectionLimit,
  type Endpoint,
  WebSocketTransport,
  type WebSocketRejectReason,
  type WebSocketTransportOptions,
  tcpSockets,
  tlsSockets,
} from '../src/transports/index.js';
import { makeTestCertificates, type TestCertificates } from '../src/testing/index.js';
import { Recorder } from './support/transport-recorder.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const WAIT = { timeout: 3000, interval: 5 };
const LOOPBACK: Endpoint = { address: '127.0.0.1', port: 0 };

/** A REGISTER as a browser UA (JsSIP) writes it: WSS Via, `.invalid` host, `transport=ws` Contact. */
function register(n: number, extra = ''): string {
  return (
    'REGISTER sip:example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-ws-${n}\r\n` +
    'Max-Forwards: 69\r\n' +
    'To: <sip:alice@example.com>\r\n' +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    `Call-ID: ws-${n}@test\r\n` +
    `CSeq: ${n} REGISTER\r\n` +
    'Contact: <sip:k3l2j1@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n' +
    extra +
    'Content-Length: 0\r\n\r\n'
  );
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTransport(overrides: Partial<WebSocketTransportOptions> = {}) {
  const recorder = new Recorder();
  const rejected: WebSocketRejectReason[] = [];
  const transport = new WebSocketTransport({
    transport: 'ws',
    sockets: tcpSockets(),
    edgeId: 'e1',
    listen: [LOOPBACK],
    handler: recorder.handler,
    onRejected: (reason) => rejected.push(reason),
    logger,
    ...overrides,
  });
  cleanups.push(() => transport.close());
  await transport.start();
  const { port } = transport.addresses()[0]!;
  return { transport, recorder, rejected, port };
}

interface Client {
  ws: WebSocket;
  received: string[];
  closed: Promise<{ code: number }>;
}

/** A WebSocket client; resolves once open, rejects with the HTTP status of a refused handshake. */
function open(url: string, protocols: string[] = ['sip'], options: WebSocket.ClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { rejectUnauthorized: false, ...options });
    cleanups.push(() => ws.terminate());
    const received: string[] = [];
    ws.on('message', (data: Buffer) => received.push(data.toString('utf8')));
    const closed = new Promise<{ code: number }>((done) => ws.on('close', (code) => done({ code })));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
    ws.on('open', () => resolve({ ws, received, closed }));
  });
}

describe('WebSocketTransport (RFC 7118) over real sockets', () => {
  it('opens a flow for a sip-subprotocol handshake, delivers each WebSocket message as one SIP message and sends on the flow', async () => {
    const { transport, recorder, port } = await startTransport();
    const client = await open(`ws://127.0.0.1:${port}`);
    expect(client.ws.protocol).toBe('sip');
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(1), WAIT);
    const { flowId, transport: name } = recorder.opened[0]!;
    expect(name).toBe('ws');
    client.ws.send(register(1));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    const { message, arrival } = recorder.messages[0]!;
    expect(message.method).toBe('REGISTER');
    expect(arrival).toMatchObject({ transport: 'ws', flowId, source: { address: '127.0.0.1' } });
    expect(transport.flows()).toEqual([flowId]);
    expect(transport.send(flowId, Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'))).toBe(true);
    await vi.waitFor(() => expect(client.received[0]).toMatch(/^SIP\/2\.0 200 OK/), WAIT);
    await expect(transport.connect({ address: '127.0.0.1', port: 1 })).rejects.toThrow(/reached on their own flows/);
    client.ws.close();
    await vi.waitFor(() => expect(recorder.closed).toEqual([flowId]), WAIT);
    expect(transport.send(flowId, Buffer.from('x'))).toBe(false);
  });

  it('reassembles a message sent in fragments (RFC 6455 §5.4)', async () => {
    const { recorder, port } = await startTransport();
    const client = await open(`ws://127.0.0.1:${port}`);
    const text = register(2);
    const third = Math.floor(text.length / 3);
    client.ws.send(text.slice(0, third), { fin: false });
    client.ws.send(text.slice(third, 2 * third), { fin: false });
    client.ws.send(text.slice(2 * third), { fin: true });
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.messages[0]!.message.cseq.seq).toBe(2);
    expect(recorder.errors).toHaveLength(0);
  });

  it('reports two SIP messages in one WebSocket message, or half of one, as a non-fatal error and keeps the flow', async () => {
    const { recorder, port } = await startTransport();
    const client = await open(`ws://127.0.0.1:${port}`);
    client.ws.send(register(3) + register(4));
    client.ws.send(register(5).replace('Content-Length: 0', 'Content-Length: 40'));
    client.ws.send(register(6));
    await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
    expect(recorder.errors.map((e) => [e.error.code, e.error.status, e.fatal])).toEqual([
      ['trailing-octets', 400, false],
      ['truncated-body', 400, false],
    ]);
    // The core answers 400 from what was read: the partial message names its transaction.
    expect(recorder.errors[0]!.error.partial?.cseq.seq).toBe(3);
    expect(recorder.messages[0]!.message.cseq.seq).toBe(6);
    expect(recorder.closed).toHaveLength(0);
  });

  it('closes a flow with 1009 when a message is over the size limit', async () => {
    const { recorder, port } = await startTransport({ maxMessageSize: 2048 });
    const client = await open(`ws://127.0.0.1:${port}`);
    client.ws.send(register(7, `X-Padding: ${'p'.repeat(4096)}\r\n`));
    expect((await client.closed).code).toBe(1009);
    await vi.waitFor(() => expect(recorder.closed).toHaveLength(1), WAIT);
    expect(recorder.messages).toHaveLength(0);
  });

  it('answers a CRLFCRLF keep-alive message with CRLF (RFC 5626 §4.4.1, as SIP.js sends it)', async () => {
    const { recorder, port } = await startTransport();
    const client = await open(`ws://127.0.0.1:${port}`);
    client.ws.send('\r\n\r\n');
    await vi.waitFor(() => expect(client.received).toEqual(['\r\n']), WAIT);
    expect(recorder.messages).toHaveLength(0);
    expect(recorder.errors).toHaveLength(0);
  });

  it('refuses a handshake without the sip subprotocol (RFC 7118 §4.1), and a plain HTTP request', async () => {
    const { recorder, rejected, port } = await startTransport();
    await expect(open(`ws://127.0.0.1:${port}`, [])).rejects.toThrow('HTTP 400');
    await expect(open(`ws://127.0.0.1:${port}`, ['chat'])).rejects.toThrow('HTTP 400');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
    await vi.waitFor(
      () => expect(rejected).toEqual(['no-sip-subprotocol', 'no-sip-subprotocol', 'not-websocket']),
      WAIT,
    );
    expect(recorder.opened).toHaveLength(0);
  });

  it('accepts only the allowed Origins, and handshakes without an Origin (not a browser)', async () => {
    const { recorder, rejected, port } = await startTransport({ origins: ['https://phone.example.com'] });
    await expect(open(`ws://127.0.0.1:${port}`, ['sip'], { origin: 'https://evil.example.net' })).rejects.toThrow(
      'HTTP 403',
    );
    await open(`ws://127.0.0.1:${port}`, ['sip'], { origin: 'https://PHONE.example.com' });
    await open(`ws://127.0.0.1:${port}`);
    await vi.waitFor(() => expect(recorder.opened).toHaveLength(2), WAIT);
    expect(rejected).toEqual(['bad-origin']);
  });

  it('closes a flow whose client stops answering pings', async () => {
    const { recorder, port } = await startTransport({ pingIntervalMs: 100 });
    const answering = await open(`ws://127.0.0.1:${port}`);
    const silent = await open(`ws://127.0.0.1:${port}`, ['sip'], { autoPong: false });
    expect((await silent.closed).code).toBe(1006);
    await vi.waitFor(() => expect(recorder.closed).toHaveLength(1), WAIT);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('drops a connection that never completes its upgrade', async () => {
    const { rejected, port } = await startTransport({ handshakeTimeoutMs: 150 });
    const socket = netConnect({ host: '127.0.0.1', port });
    cleanups.push(() => socket.destroy());
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // never finished
    await new Promise((resolve) => socket.on('close', resolve));
    await vi.waitFor(() => expect(rejected).toEqual(['handshake-failed']), WAIT);
  });

  it('takes the client from X-Forwarded-For only from a trusted proxy, and limits per client', async () => {
    const trusted = await startTransport({ trustedProxies: ['127.0.0.0/8'], maxConnectionsPerSource: 1 });
    const headers = { 'X-Forwarded-For': '198.51.100.7, 127.0.0.2' };
    const client = await open(`ws://127.0.0.1:${trusted.port}`, ['sip'], { headers });
    client.ws.send(register(8));
    await vi.waitFor(() => expect(trusted.recorder.messages).toHaveLength(1), WAIT);
    expect(trusted.recorder.messages[0]!.arrival.source.address).toBe('198.51.100.7');
    await expect(open(`ws://127.0.0.1:${trusted.port}`, ['sip'], { headers })).rejects.toThrow('HTTP 403');
    await open(`ws://127.0.0.1:${trusted.port}`, ['sip'], { headers: { 'X-Forwarded-For': '198.51.100.8' } });
    await expect(
      open(`ws://127.0.0.1:${trusted.port}`, ['sip'], { headers: { 'X-Forwarded-For': 'not-an-address' } }),
    ).rejects.toThrow('HTTP 400');
    expect(trusted.rejected).toEqual(['per-source-limit', 'handshake-failed']);

    const untrusted = await startTransport();
    const spoofing = await open(`ws://127.0.0.1:${untrusted.port}`, ['sip'], { headers });
    spoofing.ws.send(register(9));
    await vi.waitFor(() => expect(untrusted.recorder.messages).toHaveLength(1), WAIT);
    expect(untrusted.recorder.messages[0]!.arrival.source.address).toBe('127.0.0.1');
  });

  it('refuses banned sources and connections over the shared total at once', async () => {
    const limit = new ConnectionLimit(1);
    const { rejected, port } = await startTransport({
      connectionLimit: limit,
      isBanned: (address) => address === '127.0.0.3',
    });
    await open(`ws://127.0.0.1:${port}`);
    await expect(open(`ws://127.0.0.1:${port}`)).rejects.toThrow();
    await expect(open(`ws://127.0.0.1:${port}`, ['sip'], { localAddress: '127.0.0.3' })).rejects.toThrow();
    await vi.waitFor(() => expect(rejected).toEqual(['total-limit', 'banned']), WAIT);
  });

  describe('WSS', () => {
    let pki: TestCertificates;
    beforeAll(async () => {
      pki = await makeTestCertificates();
    });

    it('serves SIP over TLS-secured WebSocket with the TLS credentials', async () => {
      const { recorder, port } = await startTransport({
        transport: 'wss',
        sockets: tlsSockets({ key: pki.key, cert: pki.cert }, logger),
      });
      const client = await open(`wss://127.0.0.1:${port}`, ['sip'], { ca: pki.ca, rejectUnauthorized: true });
      client.ws.send(register(10));
      await vi.waitFor(() => expect(recorder.messages).toHaveLength(1), WAIT);
      expect(recorder.opened[0]!.transport).toBe('wss');
      expect(recorder.messages[0]!.arrival.transport).toBe('wss');
    });
  });
});
