/**
 * A call through the whole system over real sockets: SIP clients on UDP → edge → NATS → two
 * workers (state in Redis, timers in BullMQ) → edge → SIP clients. The events of the call are
 * spread over both workers.
 */
import { type Bus, connectNatsBus } from '@sipedge/bus';
import { DEFAULT_EDGE_CONFIG, Edge } from '@sipedge/edge';
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { type Stores, createRedisStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { type TimerService, createBullmqTimers } from '@sipedge/timers';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { Worker } from '@sipedge/worker';
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';
import { UdpClient, sipRequest } from '../support/sip-client.js';

const logger = createLogger({ name: 'proxy-call', level: process.env.LOG_LEVEL ?? 'silent' });

describe('a call through an edge and two workers (NATS, Redis, BullMQ)', () => {
  let redis: StartedRedis;
  let nats: StartedNats;
  const closers: (() => Promise<unknown>)[] = [];
  let edgePort: number;
  const handled = [0, 0];
  const workers: Worker[] = [];

  beforeAll(async () => {
    [redis, nats] = await Promise.all([startRedis(), startNats()]);
    edgePort = await freePort();
    const edgeStores = await createRedisStores({ url: redis.url }, logger);
    const edgeBus = await connectNatsBus({ servers: nats.url, name: 'edge', logger });
    const edge = new Edge(
      {
        ...DEFAULT_EDGE_CONFIG,
        edgeId: 'e1',
        udp: [{ address: '127.0.0.1', port: edgePort }],
        tcp: [{ address: '127.0.0.1', port: edgePort }],
        advertised: { host: '127.0.0.1', port: edgePort },
        http: { address: '127.0.0.1', port: 0 },
      },
      { bus: edgeBus, connections: edgeStores.connections, edges: edgeStores.edges, logger, processMetrics: false },
    );
    await edge.start();
    closers.push(
      () => edge.stop(),
      () => edgeBus.close(),
      () => edgeStores.close(),
    );
    const proxy = {
      advertised: { host: '127.0.0.1', port: edgePort },
      selfHosts: new Set(['127.0.0.1']),
      selfPorts: new Set([edgePort]),
      domains: new Set(['example.com']),
      supported: [],
      recordRoute: true,
      udpMtu: 1300,
    };
    for (const i of [0, 1]) {
      const stores: Stores = await createRedisStores({ url: redis.url }, logger);
      const bus: Bus = await connectNatsBus({ servers: nats.url, name: `worker-${i}`, logger });
      const timers: TimerService = createBullmqTimers({ redis: redis.url, logger });
      const worker = new Worker(
        { proxy, timers: DEFAULT_TIMERS, timerC: true, recordTtlMs: 600_000, deliveryTimeoutMs: 1000 },
        {
          bus,
          records: stores.records,
          timers,
          logger,
          tu: {
            proxy,
            locations: stores.locations,
            isTrusted: () => true,
            registrar: {},
            resolve: async (hop) =>
              isIP(hop.host) === 0
                ? null
                : { transport: hop.transport ?? 'udp', address: hop.host, port: hop.port ?? 5060 },
          },
        },
      );
      const inner = (worker as unknown as { inbound: (m: unknown) => Promise<unknown> }).inbound.bind(worker);
      (worker as unknown as { inbound: (m: unknown) => Promise<unknown> }).inbound = (m: unknown) => {
        handled[i]!++;
        return inner(m);
      };
      await worker.start();
      workers.push(worker);
      closers.push(
        () => worker.stop(),
        () => bus.close(),
        () => stores.close(),
      );
    }
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await Promise.all([redis?.container.stop(), nats?.container.stop()]);
  });

  /** The next message a client received that matches. */
  async function next(client: UdpClient, match: (m: SipMessage) => boolean, timeoutMs = 5000): Promise<SipMessage> {
    const deadline = Date.now() + timeoutMs;
    for (let seen = 0; ;) {
      while (seen < client.received.length) {
        const m = parseMessage(client.received[seen++]!.data);
        if (match(m)) return m;
      }
      if (Date.now() > deadline) throw new Error('no matching message');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('REGISTER, then INVITE/100/180/200/ACK and BYE/200 through Record-Route', async () => {
    const uas = await UdpClient.open();
    const uac = await UdpClient.open();
    const contact = `<sip:bob@127.0.0.1:${uas.port}>`;
    await uas.send(
      sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bKreg1`,
        callId: 'it-reg-1',
        extra: [`Contact: ${contact}`, 'Expires: 300'],
      }).replace('From: <sip:alice@example.com>;tag=a1', 'From: <sip:bob@example.com>;tag=r1'),
      edgePort,
    );
    expect((await next(uas, (m) => m.isResponse && m.cseq.method === 'REGISTER')).status).toBe(200);

    await uac.send(
      sipRequest('INVITE', {
        via: `SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bKit1`,
        callId: 'it-call-1',
        body: 'v=0\r\n',
        extra: [`Contact: <sip:alice@127.0.0.1:${uac.port}>`],
      }),
      edgePort,
    );
    expect((await next(uac, (m) => m.status === 100)).to.tag).toBeUndefined();
    const invite = await next(uas, (m) => m.isRequest && m.method === 'INVITE');
    // The worker that took the INVITE leaves; everything else of the call is done by the other one
    // from the state in Redis.
    const first = handled[0]! > 0 ? 0 : 1;
    await workers[first]!.stop();
    const before = handled[1 - first]!;
    expect(invite.requestUriText).toBe(`sip:bob@127.0.0.1:${uas.port}`);
    const rr = invite.values('Record-Route');
    expect(rr[0]).toContain(`@127.0.0.1:${edgePort};lr`);
    const respond = async (request: SipMessage, status: number) => {
      const extra: [string, string][] = rr.map((r) => ['Record-Route', r]);
      if (status === 200) extra.push(['Contact', contact]);
      await uas.send(buildResponse(request, status, { toTag: 'b1', headers: extra }).toBuffer(), edgePort);
    };
    await respond(invite, 180);
    expect((await next(uac, (m) => m.status === 180)).vias).toHaveLength(1);
    await respond(invite, 200);
    const ok = await next(uac, (m) => m.status === 200 && m.cseq.method === 'INVITE');
    const routes = ok.values('Record-Route');
    const inDialog = (method: string, cseq: number, branch: string) =>
      [
        `${method} sip:bob@127.0.0.1:${uas.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=${branch}`,
        'Max-Forwards: 70',
        ...routes.map((r) => `Route: ${r}`),
        'To: <sip:bob@example.com>;tag=b1',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: it-call-1',
        `CSeq: ${cseq} ${method}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    await uac.send(inDialog('ACK', 1, 'z9hG4bKitack'), edgePort);
    expect((await next(uas, (m) => m.isRequest && m.method === 'ACK')).has('Route')).toBe(false);
    await uac.send(inDialog('BYE', 2, 'z9hG4bKitbye'), edgePort);
    const bye = await next(uas, (m) => m.isRequest && m.method === 'BYE');
    await uas.send(buildResponse(bye, 200, { toTag: 'b1' }).toBuffer(), edgePort);
    expect((await next(uac, (m) => m.status === 200 && m.cseq.method === 'BYE')).get('Call-ID')).toBe('it-call-1');
    // The other worker handled the 180, 200, ACK, BYE and its 200.
    expect(handled[1 - first]! - before).toBeGreaterThanOrEqual(5);
    uas.close();
    uac.close();
  }, 30_000);
});
