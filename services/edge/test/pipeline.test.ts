/**
 * The edge's receive path without sockets: datagrams in, stateless responses and hand-offs out,
 * with the in-memory bus as the worker side. Malformed requests and start lines (§8.1.1, §7.1, §7.2), Content-Length
 * framing (§18.3) and the stateless protection of issue 5.
 */
import { MemoryBusHub, type BusMessage } from '@sipedge/bus';
import { SUBJECTS, decodeInbound } from '@sipedge/handoff';
import { fleetSelf } from '@sipedge/proxy';
import { type SipMessage, parseMessage } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Handoff } from '../src/handoff.js';
import { InboundPipeline } from '../src/inbound.js';
import type { DropReason } from '../src/metrics.js';
import type { Arrival, Endpoint } from '../src/transports/types.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const CLIENT: Endpoint = { address: '127.0.0.9', port: 40000 };
const LOCAL: Endpoint = { address: '127.0.0.1', port: 5060 };

function request(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP client.invalid:5062;rport;branch=z9hG4bKpipe1',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: <sip:alice@example.com>;tag=a1',
  'Call-ID: pipe-1@client',
  'CSeq: 1 INVITE',
];

/** A second call's INVITE, and a BYE in the first call's dialog. */
const OTHER_INVITE = request([
  ...INVITE.map((l) => l.replace('z9hG4bKpipe1', 'z9hG4bKpipe2').replace('pipe-1', 'pipe-2')),
  'l: 0',
]);
const BYE = request([
  'BYE sip:bob@example.com SIP/2.0',
  ...INVITE.slice(1).map((l) => (l.startsWith('To:') ? `${l};tag=b` : l.replace('1 INVITE', '2 BYE'))),
  'l: 0',
]);

interface Harness {
  pipeline: InboundPipeline;
  sent: { data: SipMessage; to: Endpoint }[];
  dropped: DropReason[];
  handedOff: BusMessage[];
  arrival: (transport?: Arrival['transport']) => Arrival;
}

describe('edge receive path', () => {
  let hub: MemoryBusHub;
  let h: Harness;
  let limited = new Set<string>();
  let denied = new Set<string>();
  let banned = new Set<string>();
  let counted: string[] = [];
  let keepalives: string[] = [];
  let stunSent: Buffer[] = [];
  /** The event-loop lag the pipeline sees (ms); overload control sheds above 100. */
  let lagMs = 0;
  /** The backlog each call's worker reports, by Call-ID. */
  let backlogs = new Map<string, number>();
  let placed: string[] = [];
  let roomy = false;

  beforeEach(async () => {
    hub = new MemoryBusHub();
    const edgeBus = hub.connect({ logger });
    const workerBus = hub.connect({ logger });
    const handedOff: BusMessage[] = [];
    await workerBus.subscribe(
      SUBJECTS.inbound,
      (m) => {
        handedOff.push(m);
        return { data: new Uint8Array(0) };
      },
      { queue: 'workers' },
    );
    limited = new Set();
    denied = new Set();
    banned = new Set();
    counted = [];
    keepalives = [];
    stunSent = [];
    lagMs = 0;
    backlogs = new Map();
    placed = [];
    roomy = false;
    const sent: Harness['sent'] = [];
    const dropped: DropReason[] = [];
    const pipeline = new InboundPipeline({
      edgeId: 'edge1',
      self: fleetSelf({ advertised: { host: '127.0.0.1', port: 5060 }, aliases: ['edge.example.com'], listen: [] }),
      maxMessageSize: 4096,
      deny: { denies: (a) => denied.has(a) },
      bans: { isBanned: (a) => banned.has(a) },
      banAction: 'drop',
      pike: { count: (a) => counted.push(a) },
      limiter: { take: (a) => !limited.has(a) },
      rateLimit: { action: 'reject', retryAfterSeconds: 7 },
      overload: { maxDelayMs: 100, retryAfterSeconds: 3 },
      delayMs: () => lagMs,
      workerBacklogMs: (callId) => backlogs.get(callId) ?? 0,
      placeElsewhere: (callId) => {
        if (!roomy) return false;
        placed.push(callId);
        return true;
      },
      handoff: new Handoff(edgeBus, { ackTimeoutMs: 100, attempts: 2 }, logger),
      senders: {
        udp: {
          send: async (data, to) => {
            // A STUN message's first two bits are zero (RFC 5389 §6); a SIP message starts with a letter.
            if ((data[0]! & 0xc0) === 0) stunSent.push(data);
            else sent.push({ data: parseMessage(data, { validate: false }), to });
          },
        },
      },
      counters: {
        received: () => undefined,
        dropped: (r) => dropped.push(r),
        statelessResponse: () => undefined,
        handoff: () => undefined,
        udpKeepalive: (kind) => keepalives.push(kind),
      },
      logger,
      transactionLifetimeMs: 32_000,
    });
    h = {
      pipeline,
      sent,
      dropped,
      handedOff,
      arrival: (transport = 'udp') => ({ transport, source: CLIENT, local: LOCAL, receivedAt: Date.now() }),
    };
  });

  afterEach(() => undefined);

  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('hands a valid request to a worker with received/rport stamped and the arrival metadata', async () => {
    await h.pipeline.datagram(request([...INVITE, 'Content-Length: 0']), h.arrival());
    await settle();
    expect(h.handedOff).toHaveLength(1);
    const forwarded = parseMessage(Buffer.from(h.handedOff[0]!.data));
    expect(forwarded.get('Via')).toBe(
      'SIP/2.0/UDP client.invalid:5062;rport=40000;branch=z9hG4bKpipe1;received=127.0.0.9',
    );
    expect(decodeInbound(h.handedOff[0]!.headers)).toMatchObject({
      transport: 'udp',
      source: CLIENT,
      local: LOCAL,
      edgeId: 'edge1',
    });
  });

  it('RFC 5626 §4.4: a CRLF or NUL keep-alive datagram is counted and ignored, not a parse error', async () => {
    for (const ping of ['\r\n\r\n', '\r\n', '\0\0\0\0', '']) {
      await h.pipeline.datagram(Buffer.from(ping, 'latin1'), h.arrival());
    }
    await h.pipeline.datagram(Buffer.from('\r\nX\r\n', 'latin1'), h.arrival());
    await settle();
    expect(keepalives).toEqual(['crlf', 'crlf', 'crlf', 'crlf']);
    expect([h.sent, h.handedOff, h.dropped]).toEqual([[], [], ['unparseable']]);
  });

  it('RFC 5626 §4.4.2: a STUN binding request is counted and answered with the source address', async () => {
    const binding = Buffer.alloc(20);
    binding.writeUInt16BE(0x0001, 0);
    binding.writeUInt32BE(0x2112a442, 4);
    await h.pipeline.datagram(binding, h.arrival());
    expect(keepalives).toEqual(['stun']);
    expect(stunSent).toHaveLength(1);
    expect(stunSent[0]!.readUInt16BE(0)).toBe(0x0101);
    expect([h.sent, h.handedOff, h.dropped]).toEqual([[], [], []]);
  });

  it('drops a request without Call-ID: a 400 to it would have no Call-ID either (§8.2.6.2)', async () => {
    await h.pipeline.datagram(
      request([...INVITE.filter((l) => !l.startsWith('Call-ID')), 'Content-Length: 0']),
      h.arrival(),
    );
    expect(h.sent).toEqual([]);
    expect(h.dropped).toEqual(['unparseable']);
    expect(h.handedOff).toHaveLength(0);
  });

  it('drops a request whose Via is malformed (RFC 4475 badinv01): a 400 would copy that Via', async () => {
    const bad = INVITE.map((l) => (l.startsWith('Via') ? 'Via: SIP/2.0/UDP 192.0.2.15;;,;,,' : l));
    await h.pipeline.datagram(request([...bad, 'Content-Length: 0']), h.arrival());
    expect(h.sent).toEqual([]);
    expect(h.dropped).toEqual(['unparseable']);
  });

  it('§16.3 step 1: answers a request malformed elsewhere with a well-formed 400 to its Via (received/rport)', async () => {
    await h.pipeline.datagram(request([...INVITE, 'Max-Forwards: 70', 'Content-Length: 0']), h.arrival());
    expect(h.sent.map((s) => [s.data.status, s.data.reason, s.to])).toEqual([[400, 'Multiple Max-Forwards', CLIENT]]);
    expect(() => parseMessage(h.sent[0]!.data.toBuffer())).not.toThrow();
  });

  it('drops a request without Via and garbage, answering nothing', async () => {
    await h.pipeline.datagram(
      request([...INVITE.filter((l) => !l.startsWith('Via')), 'Content-Length: 0']),
      h.arrival(),
    );
    await h.pipeline.datagram(Buffer.from('\x00\x01garbage\xff'), h.arrival());
    expect(h.sent).toEqual([]);
    expect(h.dropped).toEqual(['no-via', 'unparseable']);
  });

  it('answers SIP/3.0 with 505 and drops a response with status 2000', async () => {
    await h.pipeline.datagram(
      request(['INVITE sip:a@b SIP/3.0', ...INVITE.slice(1), 'Content-Length: 0']),
      h.arrival(),
    );
    expect(h.sent.map((s) => s.data.status)).toEqual([505]);
    await h.pipeline.datagram(
      request([
        'SIP/2.0 2000 OK',
        'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx',
        ...INVITE.slice(2),
        'Content-Length: 0',
      ]),
      h.arrival(),
    );
    expect(h.sent).toHaveLength(1);
    expect(h.dropped).toEqual(['unparseable']);
  });

  it('§18.3: truncates a body longer than Content-Length and answers 400 to a shorter one', async () => {
    const body = '01234567890123456789';
    await h.pipeline.datagram(request([...INVITE, 'Content-Length: 10'], body), h.arrival());
    await settle();
    expect(parseMessage(Buffer.from(h.handedOff[0]!.data)).body.toString()).toBe('0123456789');
    await h.pipeline.datagram(request([...INVITE, 'Content-Length: 30'], body), h.arrival());
    expect(h.sent.map((s) => s.data.status)).toEqual([400]);
  });

  it('answers an oversized message with 513', async () => {
    await h.pipeline.datagram(request([...INVITE, 'Content-Length: 5000'], 'x'.repeat(5000)), h.arrival());
    expect(h.sent.map((s) => s.data.status)).toEqual([513]);
  });

  it('§16.3 step 3, §11: answers Max-Forwards 0 with 483, and an OPTIONS to the edge itself with 200 and Allow', async () => {
    await h.pipeline.datagram(
      request([...INVITE.map((l) => (l.startsWith('Max-') ? 'Max-Forwards: 0' : l)), 'l: 0']),
      h.arrival(),
    );
    const options = [
      'OPTIONS sip:edge.example.com SIP/2.0',
      ...INVITE.slice(1).map((l) => (l.startsWith('Max-') ? 'Max-Forwards: 0' : l.replace('1 INVITE', '1 OPTIONS'))),
      'l: 0',
    ];
    await h.pipeline.datagram(request(options), h.arrival());
    expect(h.sent.map((s) => s.data.status)).toEqual([483, 200]);
    expect(h.sent[1]!.data.values('Allow')).toContain('OPTIONS');
    expect(h.sent[0]!.data.to.tag).toBeDefined();
  });

  it('gives a retransmitted request the identical stateless response (deterministic To-tag)', async () => {
    const bad = request(INVITE.map((l) => (l.startsWith('Max-') ? 'Max-Forwards: 0' : l)).concat('l: 0'));
    await h.pipeline.datagram(bad, h.arrival());
    await h.pipeline.datagram(bad, h.arrival());
    expect(h.sent[0]!.data.toBuffer().equals(h.sent[1]!.data.toBuffer())).toBe(true);
  });

  it('drops a response whose top Via is not ours, and forwards one whose Via is', async () => {
    const response = (via: string) =>
      request([
        'SIP/2.0 200 OK',
        `Via: ${via}`,
        ...INVITE.slice(2).map((l) => (l.startsWith('To:') ? `${l};tag=b` : l)),
        'l: 0',
      ]);
    await h.pipeline.datagram(response('SIP/2.0/UDP other.example.com;branch=z9hG4bKo'), h.arrival());
    await h.pipeline.datagram(response('SIP/2.0/UDP edge.example.com:5060;branch=z9hG4bKe'), h.arrival());
    await settle();
    expect(h.dropped).toEqual(['not-our-via']);
    expect(h.handedOff).toHaveLength(1);
  });

  it('drops denied sources unread and answers rate-limited requests 503 with Retry-After', async () => {
    denied.add(CLIENT.address);
    await h.pipeline.datagram(request([...INVITE, 'l: 0']), h.arrival());
    denied.clear();
    limited.add(CLIENT.address);
    await h.pipeline.datagram(request([...INVITE, 'l: 0']), h.arrival());
    expect(h.dropped).toEqual(['denied', 'rate-limited']);
    expect(h.sent.map((s) => [s.data.status, s.data.get('Retry-After')])).toEqual([[503, '7']]);
    expect(h.handedOff).toEqual([]);
  });

  it('a banned source gets nothing (its TCP flow is closed), or 403 when configured; only admitted messages are counted for pike', async () => {
    banned.add(CLIENT.address);
    const closed: string[] = [];
    const tcp = { send: () => true, connect: async () => 'never', closeFlow: (flow: string) => closed.push(flow) > 0 };
    const deps = (h.pipeline as unknown as { deps: ConstructorParameters<typeof InboundPipeline>[0] }).deps;
    const dropping = new InboundPipeline({ ...deps, senders: { ...deps.senders, tcp } });
    await dropping.datagram(request([...INVITE, 'l: 0']), h.arrival());
    await dropping.streamMessage(parseMessage(request([...INVITE, 'l: 0'])), { ...h.arrival('tcp'), flowId: 'f9' });
    expect([h.sent, h.handedOff, closed, counted]).toEqual([[], [], ['f9'], []]);
    const rejecting = new InboundPipeline({ ...deps, banAction: 'reject' });
    await rejecting.datagram(request([...INVITE, 'l: 0']), h.arrival());
    await settle();
    expect(h.sent.map((s) => s.data.status)).toEqual([403]);
    expect(h.dropped).toEqual(['banned', 'banned', 'banned']);
    banned.clear();
    await h.pipeline.datagram(request([...INVITE, 'l: 0']), h.arrival());
    expect(counted).toEqual([CLIENT.address]);
  });

  it('answers 503 when no worker takes a TCP request', async () => {
    const lonely = new InboundPipeline({
      ...(h.pipeline as unknown as { deps: ConstructorParameters<typeof InboundPipeline>[0] }).deps,
      handoff: new Handoff(new MemoryBusHub().connect({ logger }), { ackTimeoutMs: 50, attempts: 2 }, logger),
      senders: {
        tcp: {
          send: (_flow, data) => (h.sent.push({ data: parseMessage(data, { validate: false }), to: CLIENT }), true),
          connect: async () => 'never',
          closeFlow: () => false,
        },
      },
    });
    await lonely.streamMessage(parseMessage(request([...INVITE, 'l: 0'])), { ...h.arrival('tcp'), flowId: 'f1' });
    expect(h.sent.map((s) => s.data.status)).toEqual([503]);
    expect(h.dropped).toEqual(['handoff-failed']);
  });

  it('while draining refuses new initial requests with 503 but passes retransmissions and in-dialog requests', async () => {
    const first = request([...INVITE, 'l: 0']);
    await h.pipeline.datagram(first, h.arrival());
    h.pipeline.startDraining();
    await h.pipeline.datagram(first, h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await h.pipeline.datagram(BYE, h.arrival());
    await settle();
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).method)).toEqual(['INVITE', 'INVITE', 'BYE']);
    expect(h.sent.map((s) => s.data.status)).toEqual([503]);
    expect(h.dropped).toEqual(['draining']);
  });

  it('overload: a lagging event loop refuses new initial requests with 503 and Retry-After, never a call already taken', async () => {
    const first = request([...INVITE, 'l: 0']);
    await h.pipeline.datagram(first, h.arrival());
    lagMs = 200; // twice the limit: every new initial request is shed
    await h.pipeline.datagram(first, h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await h.pipeline.datagram(BYE, h.arrival());
    await settle();
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).method)).toEqual(['INVITE', 'INVITE', 'BYE']);
    // The INVITE handed off again is marked a retransmission: no worker sheds it either.
    expect(h.handedOff.map((m) => decodeInbound(m.headers).retransmission)).toEqual([undefined, true, undefined]);
    // The shed INVITE is not remembered: its retransmission gets the identical 503.
    expect(h.sent.map((s) => [s.data.status, s.data.get('Retry-After')])).toEqual([
      [503, '3'],
      [503, '3'],
    ]);
    expect(h.sent[0]!.data.to.tag).toBe(h.sent[1]!.data.to.tag);
    expect(h.dropped).toEqual(['overload', 'overload']);
    lagMs = 100; // at the limit: nothing is shed
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await settle();
    expect(h.handedOff).toHaveLength(4);
  });

  it('overload: a new call whose worker (every worker, then) reports a backlog is refused with 503 before the hand-off; a call already taken and other workers’ calls are not', async () => {
    const first = request([...INVITE, 'l: 0']);
    await h.pipeline.datagram(first, h.arrival());
    backlogs.set('pipe-1@client', 200).set('pipe-2@client', 200); // twice the limit: every new call shed
    await h.pipeline.datagram(first, h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await h.pipeline.datagram(BYE, h.arrival());
    await settle();
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).callId)).toEqual([
      'pipe-1@client',
      'pipe-1@client',
      'pipe-1@client',
    ]);
    expect(h.sent.map((s) => [s.data.callId, s.data.status, s.data.get('Retry-After')])).toEqual([
      ['pipe-2@client', 503, '3'],
    ]);
    expect(h.dropped).toEqual(['worker-overload']);
    backlogs.set('pipe-2@client', 100); // at the limit: taken
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await settle();
    expect(h.handedOff).toHaveLength(4);
    expect(h.dropped).toEqual(['worker-overload']);
  });

  it('overload: a new call whose worker reports a backlog goes to a worker with room instead, when there is one', async () => {
    const first = request([...INVITE, 'l: 0']);
    await h.pipeline.datagram(first, h.arrival());
    backlogs.set('pipe-1@client', 200).set('pipe-2@client', 200);
    roomy = true;
    await h.pipeline.datagram(first, h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await h.pipeline.datagram(BYE, h.arrival());
    // A backlog within the limit moves a new call too: its worker is saturated.
    const third = request([...INVITE.map((l) => l.replace('pipe-1@', 'pipe-3@')), 'l: 0']);
    backlogs.set('pipe-3@client', 50);
    await h.pipeline.datagram(third, h.arrival());
    await settle();
    // Only new calls are placed (not the retransmitted INVITE, not the BYE), and handed off.
    expect(placed).toEqual(['pipe-2@client', 'pipe-3@client']);
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).callId)).toEqual([
      'pipe-1@client',
      'pipe-1@client',
      'pipe-2@client',
      'pipe-1@client',
      'pipe-3@client',
    ]);
    expect(h.sent).toEqual([]);
    expect(h.dropped).toEqual([]);
  });

  it('overload: with no worker with room, a new call stays with its worker within the limit and is refused beyond it', async () => {
    backlogs.set('pipe-1@client', 50).set('pipe-2@client', 200);
    await h.pipeline.datagram(request([...INVITE, 'l: 0']), h.arrival());
    await h.pipeline.datagram(OTHER_INVITE, h.arrival());
    await settle();
    expect(placed).toEqual([]);
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).callId)).toEqual(['pipe-1@client']);
    expect(h.sent.map((s) => [s.data.callId, s.data.status])).toEqual([['pipe-2@client', 503]]);
    expect(h.dropped).toEqual(['worker-overload']);
  });

  it('§8.2.7: the ACK of a stateless non-2xx response ends at the edge; other ACKs are handed off', async () => {
    lagMs = 200;
    const invite = request([...INVITE, 'l: 0']);
    await h.pipeline.datagram(invite, h.arrival());
    await settle();
    const refused = h.sent[0]!.data;
    const ack = (toTag: string) =>
      request([
        'ACK sip:bob@example.com SIP/2.0',
        ...INVITE.slice(1).map((l) => (l.startsWith('To:') ? `${l};tag=${toTag}` : l.replace('1 INVITE', '1 ACK'))),
        'l: 0',
      ]);
    await h.pipeline.datagram(ack(refused.to.tag!), h.arrival());
    await h.pipeline.datagram(ack('callee-tag'), h.arrival());
    await settle();
    expect(h.handedOff.map((m) => parseMessage(Buffer.from(m.data)).to.tag)).toEqual(['callee-tag']);
    expect(h.dropped).toEqual(['overload', 'stateless-ack']);
  });
});
