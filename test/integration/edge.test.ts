/**
 * The edge over real sockets, with NATS and Redis in containers and a stand-in worker on the bus
 * (the real workers come with issue 6): malformed requests and framing (§8.1.1, §7.1, §18.3), large
 * datagrams (§18.1.1), Via stamping and response routing (§18.2, RFC 3581), TCP and TLS connections,
 * CRLF keep-alive (RFC 5626 §4.4.1), IPv6, readiness and drain.
 */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Bus, type BusMessage, connectNatsBus } from '@sipedge/bus';
import { DEFAULT_EDGE_CONFIG, Edge, type EdgeConfig } from '@sipedge/edge';
import { makeTestCertificates } from '@sipedge/edge/testing';
import { H, QUEUES, SUBJECTS, decodeInbound, encodeOutbound } from '@sipedge/handoff';
import { buildRequest, buildResponse, parseMessage, responseDestination, type SipMessage } from '@sipedge/sip';
import { type Stores, createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';
import { TcpClient, UdpClient, sipRequest } from '../support/sip-client.js';

const logger = createLogger({ name: 'edge-test', level: process.env.LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const callId = () => `edge-it-${++seq}@test`;

/** The worker side: records hand-offs and acknowledges them unless told not to. */
class FakeWorker {
  readonly handedOff: { message: SipMessage; meta: ReturnType<typeof decodeInbound> }[] = [];

  static async start(bus: Bus): Promise<FakeWorker> {
    const worker = new FakeWorker();
    await bus.subscribe(
      SUBJECTS.inbound,
      (m: BusMessage) => {
        worker.handedOff.push({ message: parseMessage(Buffer.from(m.data)), meta: decodeInbound(m.headers) });
        return { data: new Uint8Array(0) };
      },
      { queue: QUEUES.workers },
    );
    return worker;
  }

  async next(callIdValue: string, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.handedOff.find((h) => h.message.get('Call-ID') === callIdValue);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no hand-off of ${callIdValue}`);
      await sleep(10);
    }
  }

  count(callIdValue: string): number {
    return this.handedOff.filter((h) => h.message.get('Call-ID') === callIdValue).length;
  }
}

function edgeConfig(overrides: Partial<EdgeConfig> = {}): EdgeConfig {
  return {
    ...DEFAULT_EDGE_CONFIG,
    edgeId: 'e1',
    udp: [
      { address: '127.0.0.1', port: 0 },
      { address: '::1', port: 0 },
    ],
    tcp: [
      { address: '127.0.0.1', port: 0 },
      { address: '::1', port: 0 },
    ],
    advertised: { host: '127.0.0.1', port: 5060 },
    http: { address: '127.0.0.1', port: 0 },
    idleTimeoutMs: 30_000,
    handoff: { ackTimeoutMs: 300, attempts: 3 },
    ...overrides,
  };
}

describe('edge over real sockets', () => {
  let redis: StartedRedis;
  let nats: StartedNats;
  let stores: Stores;
  let edgeBus: Bus;
  let workerBus: Bus;
  let worker: FakeWorker;
  let edge: Edge;
  let udpPort: number;
  let udp6Port: number;
  let tcpPort: number;
  let tlsPort: number;
  let ca: string;

  beforeAll(async () => {
    [redis, nats] = await Promise.all([startRedis(), startNats()]);
    stores = await createRedisStores({ url: redis.url }, logger);
    edgeBus = await connectNatsBus({ servers: nats.url, name: 'edge-e1', logger });
    workerBus = await connectNatsBus({ servers: nats.url, name: 'worker', logger });
    worker = await FakeWorker.start(workerBus);
    const certs = await makeTestCertificates();
    ca = certs.ca;
    edge = new Edge(
      edgeConfig({
        tls: { listen: [{ address: '127.0.0.1', port: 0 }], key: certs.key, cert: certs.cert, ca: certs.ca },
      }),
      {
        bus: edgeBus,
        connections: stores.connections,
        dialogs: stores.dialogs,
        captures: stores.captures,
        edges: stores.edges,
        abuse: stores.abuse,
        locations: stores.locations,
        logger,
        processMetrics: false,
      },
    );
    await edge.start();
    const l = edge.listening();
    udpPort = l.udp.find((e) => e.address === '127.0.0.1')!.port;
    udp6Port = l.udp.find((e) => e.address === '::1')!.port;
    tcpPort = l.tcp.find((e) => e.address === '127.0.0.1')!.port;
    tlsPort = l.tls[0]!.port;
  });

  afterAll(async () => {
    await edge?.stop();
    await edgeBus?.close();
    await workerBus?.close();
    await stores?.close();
    await Promise.all([redis?.container.stop(), nats?.container.stop()]);
  });

  /** The stand-in worker answers `request` through the edge, as a worker would (§18.2.2 destination). */
  async function answer(
    request: SipMessage,
    status: number,
    meta: { transport: 'udp' | 'tcp' | 'tls'; flowId?: string },
  ) {
    const response = buildResponse(request, status, { toTag: 'w1' });
    const destination = responseDestination(request.topVia!);
    await workerBus.publish(
      SUBJECTS.edgeOutbound('e1'),
      response.toBuffer(),
      encodeOutbound({
        transport: meta.transport,
        destination,
        kind: 'response',
        ...(meta.flowId ? { flowId: meta.flowId } : {}),
      }),
    );
  }

  it('§18.2.1, RFC 3581 §4: stamps received/rport, and the response reaches the source port from the listening port', async () => {
    const client = await UdpClient.open();
    const id = callId();
    await client.send(
      sipRequest('OPTIONS', { via: 'SIP/2.0/UDP client.invalid:5099;rport;branch=z9hG4bKb1', callId: id }),
      udpPort,
    );
    const { message, meta } = await worker.next(id);
    expect(message.get('Via')).toBe(
      `SIP/2.0/UDP client.invalid:5099;rport=${client.port};branch=z9hG4bKb1;received=127.0.0.1`,
    );
    expect(meta).toMatchObject({ transport: 'udp', edgeId: 'e1', source: { address: '127.0.0.1', port: client.port } });
    await answer(message, 200, { transport: 'udp' });
    const got = await client.nth(1);
    expect(parseMessage(got.data).status).toBe(200);
    expect(got.from.port).toBe(udpPort);
    client.close();
  });

  it('§18.2.2: a response without rport goes to the received address and the sent-by port', async () => {
    const target = await UdpClient.open();
    const sender = await UdpClient.open();
    const id = callId();
    await sender.send(
      sipRequest('OPTIONS', { via: `SIP/2.0/UDP 127.0.0.1:${target.port};branch=z9hG4bKb3`, callId: id }),
      udpPort,
    );
    const { message } = await worker.next(id);
    await answer(message, 200, { transport: 'udp' });
    expect(parseMessage((await target.nth(1)).data).status).toBe(200);
    expect(sender.received).toHaveLength(0);
    target.close();
    sender.close();
  });

  it('§16.3 step 1: a well-formed 400 for a bad Max-Forwards; nothing for a missing Call-ID or Via, or garbage; no crash', async () => {
    const client = await UdpClient.open();
    const badMaxForwards = sipRequest('INVITE', {
      via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKa7',
      callId: callId(),
    }).replace('Max-Forwards: 70', 'Max-Forwards: many');
    await client.send(badMaxForwards, udpPort);
    const got = parseMessage((await client.nth(1)).data);
    expect(got.status).toBe(400);
    // A response to a request without Call-ID would have none either (§8.2.6.2): nothing is sent.
    const noCallId = sipRequest('INVITE', {
      via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKa7b',
      callId: 'x',
    }).replace(/Call-ID: x\r\n/, '');
    await client.send(noCallId, udpPort);
    const noVia = sipRequest('INVITE', { via: 'x', callId: callId() }).replace(/Via: x\r\n/, '');
    await client.send(noVia, udpPort);
    await client.send(Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]), udpPort);
    await sleep(300);
    expect(client.received).toHaveLength(1);
    const ready = await fetch(`http://127.0.0.1:${edge.httpAddress!.port}/readyz`);
    expect(ready.status).toBe(200);
    client.close();
  });

  it('505 for SIP/3.0; a response with status 2000 is dropped', async () => {
    const client = await UdpClient.open();
    const v3 = sipRequest('INVITE', { via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKa8', callId: callId() }).replace(
      'SIP/2.0\r\n',
      'SIP/3.0\r\n',
    );
    await client.send(v3, udpPort);
    expect(parseMessage((await client.nth(1)).data, { validate: false }).status).toBe(505);
    const bad = [
      'SIP/2.0 2000 OK',
      `Via: SIP/2.0/UDP 127.0.0.1:${udpPort};branch=z9hG4bKx`,
      'To: <sip:a@b>;tag=1',
      'From: <sip:c@d>;tag=2',
      `Call-ID: ${callId()}`,
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await client.send(bad, udpPort);
    await sleep(300);
    expect(client.received).toHaveLength(1);
    client.close();
  });

  it('§18.3: UDP body truncated to Content-Length; TCP messages concatenated and split are all framed', async () => {
    const client = await UdpClient.open();
    const id = callId();
    const long = sipRequest('MESSAGE', {
      via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKa9',
      callId: id,
      body: '0123456789',
    });
    await client.send(`${long}0123456789`, udpPort);
    expect((await worker.next(id)).message.body.toString()).toBe('0123456789');
    client.close();

    const tcp = await TcpClient.open(tcpPort);
    const ids = [callId(), callId(), callId()];
    const msgs = ids.map((i, n) =>
      sipRequest('MESSAGE', { via: `SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt${n}`, callId: i, body: 'hi' }),
    );
    tcp.write(msgs[0]! + msgs[1]!);
    const third = Buffer.from(msgs[2]!, 'latin1');
    tcp.write(third.subarray(0, 20));
    await sleep(50);
    tcp.write(third.subarray(20, 90));
    await sleep(50);
    tcp.write(third.subarray(90));
    for (const i of ids) expect((await worker.next(i)).meta.transport).toBe('tcp');
    tcp.close();
  });

  it('§18.1.1: an 8 KB INVITE over UDP arrives whole', async () => {
    const client = await UdpClient.open();
    const id = callId();
    const body = `v=0\r\n${'a=x-pad:'.padEnd(8000, 'x')}\r\n`;
    await client.send(
      sipRequest('INVITE', { via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKa12', callId: id, body }),
      udpPort,
    );
    expect((await worker.next(id)).message.body.length).toBe(body.length);
    client.close();
  });

  it('§18.2.2: TCP responses go back on the same connection; once it is closed, on a new one to the sent-by port', async () => {
    const accepted: Socket[] = [];
    const received: Buffer[] = [];
    const server = createServer((s) => {
      accepted.push(s);
      s.on('data', (d) => received.push(d));
    });
    const clientPort = await freePort();
    await new Promise<void>((r) => server.listen(clientPort, '127.0.0.1', r));
    const tcp = await TcpClient.open(tcpPort);
    const id = callId();
    tcp.write(sipRequest('INVITE', { via: `SIP/2.0/TCP 127.0.0.1:${clientPort};branch=z9hG4bKb5`, callId: id }));
    const { message, meta } = await worker.next(id);
    expect(meta.flowId).toMatch(/^f-e1-/);
    expect(await stores.connections.lookup(meta.flowId!)).toBe('e1');
    await answer(message, 180, { transport: 'tcp', flowId: meta.flowId! });
    await tcp.waitFor((d) => d.toString('latin1').startsWith('SIP/2.0 180'));
    tcp.close();
    await sleep(100);
    await answer(message, 200, { transport: 'tcp', flowId: meta.flowId! });
    const deadline = Date.now() + 3000;
    while (!Buffer.concat(received).toString('latin1').includes('SIP/2.0 200') && Date.now() < deadline)
      await sleep(20);
    expect(Buffer.concat(received).toString('latin1')).toContain('SIP/2.0 200');
    expect(accepted).toHaveLength(1);
    // A request on a closed flow is reported back as a transport error (§16.9).
    const reply = await workerBus.request(
      SUBJECTS.edgeOutbound('e1'),
      buildRequest({
        method: 'BYE',
        uri: 'sip:alice@127.0.0.1',
        from: '<sip:bob@example.com>;tag=w1',
        to: '<sip:alice@example.com>;tag=a1',
        callId: id,
        cseq: 2,
      }).toBuffer(),
      {
        timeoutMs: 2000,
        headers: encodeOutbound({
          transport: 'tcp',
          destination: { address: '127.0.0.1', port: clientPort },
          flowId: meta.flowId!,
          kind: 'request',
        }),
      },
    );
    expect(reply.headers[H.deliveryError]).toMatch(/closed/);
    for (const s of accepted) s.destroy();
    server.close();
  });

  it('TLS handshake with a CA made at test time, and the message is handed off', async () => {
    const id = callId();
    const socket = tlsConnect({ host: '127.0.0.1', port: tlsPort, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.authorized).toBe(true);
    socket.write(sipRequest('OPTIONS', { via: 'SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKb6', callId: id }));
    expect((await worker.next(id)).meta.transport).toBe('tls');
    socket.destroy();
  });

  it('RFC 5626 §4.4.1: a CRLFCRLF ping on TCP gets a CRLF pong and the connection stays open', async () => {
    const tcp = await TcpClient.open(tcpPort);
    tcp.write('\r\n\r\n');
    await tcp.waitFor((d) => d.toString('latin1') === '\r\n');
    const id = callId();
    tcp.write(sipRequest('OPTIONS', { via: 'SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKb9', callId: id }));
    await worker.next(id);
    expect(tcp.closed).toBe(false);
    tcp.close();
  });

  it('IPv6 loopback works for UDP, and the response returns to the IPv6 client', async () => {
    const client = await UdpClient.open('::1');
    const id = callId();
    await client.send(
      sipRequest('OPTIONS', { via: 'SIP/2.0/UDP [::1];rport;branch=z9hG4bKb12', callId: id }),
      udp6Port,
      '::1',
    );
    const { message, meta } = await worker.next(id);
    expect(meta.source.address).toBe('::1');
    expect(message.topVia?.rport).toBe(client.port);
    await answer(message, 200, { transport: 'udp' });
    expect(parseMessage((await client.nth(1)).data).status).toBe(200);
    client.close();
  });

  it('readiness and health report sockets, NATS and Redis; the edge is in the live-edge registry', async () => {
    const base = `http://127.0.0.1:${edge.httpAddress!.port}`;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.sockets?.ok && body.checks.nats?.ok && body.checks.redis?.ok).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('sipedge_edge_messages_received_total');
    expect(await stores.edges.live(Date.now())).toContain('e1');
  });

  it('hands a TCP message to another worker when the first dies before acknowledging', async () => {
    const dyingBus = await connectNatsBus({ servers: nats.url, name: 'dying-worker', logger });
    const id = callId();
    let swallowed: number | undefined;
    await dyingBus.subscribe(
      SUBJECTS.inbound,
      async (m) => {
        const message = parseMessage(Buffer.from(m.data));
        if (message.get('Call-ID') !== id || swallowed !== undefined) return { data: new Uint8Array(0) };
        // Dies holding the message: no acknowledgement, and its connection goes away.
        swallowed = message.cseq.seq;
        void dyingBus.close();
        return new Promise<never>(() => undefined);
      },
      { queue: QUEUES.workers },
    );
    const tcp = await TcpClient.open(tcpPort);
    // NATS picks a queue member at random: send distinct messages until the dying worker took one.
    let sent = 0;
    while (swallowed === undefined && sent < 40) {
      sent++;
      tcp.write(
        sipRequest('MESSAGE', {
          via: `SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKdie${sent}`,
          callId: id,
          cseq: sent,
          body: 'x',
        }),
      );
      await sleep(50);
    }
    expect(swallowed).toBeDefined();
    const liveSeqs = () =>
      new Set(worker.handedOff.filter((h) => h.message.get('Call-ID') === id).map((h) => h.message.cseq.seq));
    const deadline = Date.now() + 5000;
    while (liveSeqs().size < sent && Date.now() < deadline) await sleep(20);
    // Every message, the swallowed one included, reached the live worker.
    expect([...liveSeqs()].sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    tcp.close();
  });

  it('rate limit answers 503 with Retry-After over the limit; a denied source gets nothing', async () => {
    const limited = new Edge(
      edgeConfig({
        edgeId: 'e2',
        tcp: [],
        udp: [{ address: '127.0.0.1', port: 0 }],
        rateLimit: { ...DEFAULT_EDGE_CONFIG.rateLimit, ratePerSecond: 1, burst: 2, trusted: [] },
        denyList: ['127.0.0.66/32'],
      }),
      {
        bus: edgeBus,
        connections: stores.connections,
        dialogs: stores.dialogs,
        captures: stores.captures,
        edges: stores.edges,
        abuse: stores.abuse,
        locations: stores.locations,
        logger,
        processMetrics: false,
      },
    );
    await limited.start();
    const port = limited.listening().udp[0]!.port;
    const client = await UdpClient.open('127.0.0.5');
    const ids = [callId(), callId(), callId(), callId()];
    for (const [n, id] of ids.entries()) {
      await client.send(
        sipRequest('OPTIONS', { via: `SIP/2.0/UDP 127.0.0.5;rport;branch=z9hG4bKrl${n}`, callId: id }),
        port,
      );
    }
    const first = parseMessage((await client.nth(1)).data, { validate: false });
    const second = parseMessage((await client.nth(2)).data, { validate: false });
    expect([first.status, first.get('Retry-After'), second.status]).toEqual([503, '5', 503]);
    await worker.next(ids[0]!);
    await worker.next(ids[1]!);
    const denied = await UdpClient.open('127.0.0.66');
    await denied.send(
      sipRequest('OPTIONS', { via: 'SIP/2.0/UDP 127.0.0.66;rport;branch=z9hG4bKdn', callId: callId() }),
      port,
    );
    await sleep(300);
    expect(denied.received).toHaveLength(0);
    const metrics = await (await fetch(`http://127.0.0.1:${limited.httpAddress!.port}/metrics`)).text();
    expect(metrics).toMatch(/sipedge_edge_messages_dropped_total\{reason="denied"\} 1/);
    client.close();
    denied.close();
    await limited.stop();
  });

  it('on SIGTERM the edge goes unready, refuses new INVITEs with 503, finishes the call in flight and exits 0', async () => {
    const sip = await freePort();
    const http = await freePort();
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'services/sipedge/src/main.ts', 'edge'],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        env: {
          ...process.env,
          SIPEDGE_EDGE_ID: 'drainer',
          SIPEDGE_UDP: `127.0.0.1:${sip}`,
          SIPEDGE_TCP: `127.0.0.1:${sip}`,
          SIPEDGE_HTTP: `127.0.0.1:${http}`,
          SIPEDGE_DRAIN_DEADLINE_MS: '8000',
          NATS_URL: nats.url,
          REDIS_URL: redis.url,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${http}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('spawned edge never became ready');
      await sleep(100);
    }
    const client = await UdpClient.open();
    const id = callId();
    const invite = sipRequest('INVITE', { via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKdrain', callId: id });
    await client.send(invite, sip);
    const { message } = await worker.next(id);
    child.kill('SIGTERM');
    for (
      let i = 0;
      i < 50 &&
      (await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) === 200;
      i++
    )
      await sleep(50);
    expect(
      await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      ),
    ).toBe(503);
    // A new INVITE is refused; the retransmission of the one in flight still goes to the worker.
    await client.send(
      sipRequest('INVITE', { via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKnew', callId: callId() }),
      sip,
    );
    expect(parseMessage((await client.nth(1)).data, { validate: false }).status).toBe(503);
    await client.send(invite, sip);
    const deadline2 = Date.now() + 2000;
    while (worker.count(id) < 2 && Date.now() < deadline2) await sleep(20);
    expect(worker.count(id)).toBe(2);
    // The call in flight completes through the draining edge.
    await workerBus.publish(
      SUBJECTS.edgeOutbound('drainer'),
      buildResponse(message, 200, { toTag: 'w1' }).toBuffer(),
      encodeOutbound({ transport: 'udp', destination: responseDestination(message.topVia!), kind: 'response' }),
    );
    expect(parseMessage((await client.nth(2)).data).status).toBe(200);
    expect(await exited).toBe(0);
    client.close();
  }, 60_000);
});
