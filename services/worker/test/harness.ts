import { isIP } from 'node:net';
import { MemoryBusHub, type Bus, type BusMessage } from '@sipedge/bus';
import {
  H,
  type InboundMeta,
  type LocalDelivery,
  LocalLink,
  SUBJECTS,
  decodeInbound,
  decodeOutbound,
  encodeInbound,
  type OutboundMeta,
} from '@sipedge/handoff';
import type { NextHop, ProxyConfig } from '@sipedge/proxy';
import { type SipMessage, buildResponse, parseMessage } from '@sipedge/sip';
import { createMemoryStores, type Stores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers, type TimerService } from '@sipedge/timers';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { type Committed, type Hop, Worker, type WorkerSettings } from '../src/index.js';
import type { TuDeps } from '../src/tu.js';

export const logger = createLogger({ name: 'worker-test', level: process.env.LOG_LEVEL ?? 'silent' });

export const PROXY: ProxyConfig = {
  advertised: { host: '127.0.0.1', port: 5060 },
  selfHosts: new Set(['127.0.0.1', 'proxy.example.com']),
  selfPorts: new Set([5060]),
  domains: new Set(['example.com']),
  supported: [],
  recordRoute: true,
  udpMtu: 1300,
};

/** The fleet secret of the test workers (every worker of a fleet shares it). */
export const ROUTE_TOKENS = { secret: 'worker-test-fleet-secret-0123456789abcdef' };

export const SETTINGS: WorkerSettings = {
  proxy: PROXY,
  routeTokens: ROUTE_TOKENS,
  timers: DEFAULT_TIMERS,
  timerC: true,
  deliveryTimeoutMs: 500,
};

/** RFC 3263 stand-in for tests: IP literals only. */
export async function resolveIpLiteral(hop: NextHop): Promise<Hop[]> {
  if (isIP(hop.host) === 0) return [];
  return [{ transport: hop.transport ?? 'udp', address: hop.host, port: hop.port ?? 5060 }];
}

export interface Sent {
  message: SipMessage;
  meta: OutboundMeta;
  /** The NATS subject it was published on (this edge's own, or the shared one), or `local` (`LocalLink`). */
  subject: string;
}

/**
 * Two workers on in-memory twins, and the test in the role of an edge (`e1`): it hands messages
 * to the workers as an edge would and records what they ask the edge to send.
 */
export class Harness {
  readonly hub = new MemoryBusHub();
  readonly stores: Stores = createMemoryStores();
  readonly timerHub = new MemoryTimerHub();
  readonly sent: Sent[] = [];
  readonly workers: Worker[] = [];
  private edge!: Bus;
  /** `startLinked`: the stand-in edge and the worker are in one process, joined by this link. */
  link: LocalLink | undefined;
  /** Detaches the stand-in edge from `link` (`leaveLink`); undefined once it has left. */
  private detachEdge: (() => void) | undefined;

  /**
   * Destinations the edge cannot reach (`address:port`, or `transport:address:port` for one
   * transport only): requests to them are reported undeliverable.
   */
  readonly unreachable = new Set<string>();
  /** Destinations (`address:port`) that answer every request but ACK at once with the given status. */
  readonly autoAnswer = new Map<string, number>();
  /** Every destination (`address:port`) a message was handed to the edge for, reachable or not. */
  readonly tried: string[] = [];
  /** Hand-offs each worker took from its admission queue (`WorkerDeps.handoffTaken`), by index. */
  readonly taken: number[] = [];
  /**
   * A NATS blip: the next message a worker publishes for an edge that matches (its first line)
   * fails to publish, once.
   */
  failNextPublish: ((firstLine: string) => boolean) | undefined;
  /** Runs in worker `index` right after each commit (Worker `afterCommit`): a crash point. */
  afterCommit: ((index: number, committed: Committed) => Promise<void>) | undefined;
  /** Workers that "died" (`dieAfterCommit`): whatever they would still send is lost. */
  private readonly dead = new Set<number>();

  /**
   * `timerLatencyMs` delays every schedule and cancel, as the Redis round trips of BullMQ do, so
   * that an event with more timer work finishes its effects later than the next event's.
   * `edgeAlive: false` starts the workers before the stand-in edge's first heartbeat.
   */
  static async start(
    workers = 2,
    tu: Partial<TuDeps> = {},
    settings: Partial<WorkerSettings> = {},
    timerLatencyMs = 0,
    edgeAlive = true,
    linked = false,
  ): Promise<Harness> {
    const h = new Harness();
    // The stand-in edge is alive unless a test says otherwise.
    if (edgeAlive) await h.stores.edges.heartbeat('e1', 3_600_000, Date.now());
    h.edge = h.hub.connect({ logger });
    const deliver = (data: Uint8Array, meta: OutboundMeta, subject: string): LocalDelivery => {
      h.tried.push(`${meta.destination.address}:${meta.destination.port}`);
      const at = `${meta.destination.address}:${meta.destination.port}`;
      if (h.unreachable.has(at) || h.unreachable.has(`${meta.transport}:${at}`)) {
        return { ok: false, error: 'connection refused' };
      }
      const message = parseMessage(Buffer.from(data), { validate: false });
      h.sent.push({ message, meta, subject });
      const status = h.autoAnswer.get(`${meta.destination.address}:${meta.destination.port}`);
      if (status !== undefined && message.isRequest && message.method !== 'ACK') {
        void h.receive(buildResponse(message, status, { toTag: 'auto' }).toString(), meta.destination);
      }
      return { ok: true };
    };
    const record = (m: BusMessage) => {
      const delivery = deliver(m.data, decodeOutbound(m.headers), m.subject);
      return { data: new Uint8Array(0), ...(delivery.ok ? {} : { headers: { [H.deliveryError]: delivery.error } }) };
    };
    await h.edge.subscribe(SUBJECTS.edgeOutbound('e1'), record);
    await h.edge.subscribe(SUBJECTS.anyEdgeOutbound, record, { queue: 'edges' });
    if (linked) {
      h.link = new LocalLink();
      h.detachEdge = h.link.attachEdge('e1', { send: async (data, meta) => deliver(data, meta, 'local') });
    }
    for (let i = 0; i < workers; i++) {
      const index = i;
      const worker = new Worker(
        { ...SETTINGS, ...settings },
        {
          bus: h.blipping(h.hub.connect({ logger }), index),
          records: h.stores.records,
          dialogs: h.stores.dialogs,
          edges: h.stores.edges,
          timers: delayed(new MemoryTimers({ hub: h.timerHub, logger }), timerLatencyMs),
          tu: {
            proxy: PROXY,
            locations: h.stores.locations,
            isTrusted: () => true,
            routeTokens: ROUTE_TOKENS,
            registrar: {},
            resolve: resolveIpLiteral,
            ...tu,
          },
          logger,
          afterCommit: async (committed) => h.afterCommit?.(index, committed),
          handoffTaken: () => {
            h.taken[index] = (h.taken[index] ?? 0) + 1;
          },
          ...(h.link === undefined ? {} : { link: h.link }),
        },
      );
      await worker.start();
      h.workers.push(worker);
    }
    return h;
  }

  /**
   * One worker with the stand-in edge in its process, as standalone mode runs them: messages go
   * between them by a call (`LocalLink`), parsed once, and not over the bus.
   */
  static startLinked(tu: Partial<TuDeps> = {}, settings: Partial<WorkerSettings> = {}): Promise<Harness> {
    return Harness.start(1, tu, settings, 0, true, true);
  }

  /**
   * The first worker to commit a call's forks "dies" right there: stopped, its effects never run
   * (the record and its deadline are committed, nothing was sent). Returns which worker it was,
   * once it happened.
   */
  dieAfterFirstForkCommit(): () => number | undefined {
    return this.dieAfterCommit(
      (committed) => committed.result.record.forks.length > 0 && (committed.before?.forks.length ?? 0) === 0,
    );
  }

  /**
   * The first worker to commit a new record that waits for its routing decision (an INVITE taken,
   * 100 Trying due) dies right there: nothing sent, the decision never made.
   */
  dieAfterFirstUndecidedCommit(): () => number | undefined {
    return this.dieAfterCommit(
      (committed) => committed.before === null && committed.result.record.decisionDue !== undefined,
    );
  }

  private dieAfterCommit(when: (committed: Committed) => boolean): () => number | undefined {
    let crashed: number | undefined;
    this.afterCommit = async (index, committed) => {
      if (crashed === undefined && when(committed)) {
        crashed = index;
        this.dead.add(index);
        await this.workers[index]!.stop();
        await new Promise(() => undefined);
      }
    };
    return () => crashed;
  }

  /** A worker's bus whose publishes and requests fail once for a message `failNextPublish` picks. */
  private blipping(bus: Bus, index: number): Bus {
    const blip = (data: Uint8Array) => {
      const firstLine = Buffer.from(data).toString('latin1').split('\r\n', 1)[0]!;
      if (this.failNextPublish?.(firstLine) !== true) return;
      this.failNextPublish = undefined;
      throw new Error('NATS: publish failed (test blip)');
    };
    return new Proxy(bus, {
      get: (target, property, receiver) => {
        if (property === 'publish' || property === 'request') {
          return async (subject: string, data: Uint8Array, ...rest: unknown[]) => {
            // A dead process sends nothing (its timers, here, still run).
            if (this.dead.has(index)) return property === 'request' ? { data: new Uint8Array(0) } : undefined;
            blip(data);
            return (target[property] as (...args: unknown[]) => Promise<unknown>).call(target, subject, data, ...rest);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The edge hands a message received from `source` over `transport` to a worker. */
  async receive(
    wire: string,
    source = { address: '192.0.2.1', port: 5060 },
    transport: 'udp' | 'tcp' = 'udp',
    edge: Pick<InboundMeta, 'receivedAt' | 'retransmission' | 'redelivered'> = { receivedAt: Date.now() },
  ): Promise<void> {
    const headers = encodeInbound({
      transport,
      source,
      local: { address: '127.0.0.1', port: 5060 },
      edgeId: 'e1',
      ...edge,
      ...(transport === 'tcp' ? { flowId: 'f-e1-1' } : {}),
    });
    const data = Buffer.from(wire, 'latin1');
    const worker = this.detachEdge === undefined ? undefined : this.link?.worker;
    if (worker !== undefined) {
      // As the edge's LocalHandoff does: the message as parsed, waited for over TCP only.
      const taken = worker.take(parseMessage(data), decodeInbound(headers));
      if (transport === 'tcp') await taken;
      return;
    }
    if (transport === 'tcp') await this.edge.request(SUBJECTS.inbound, data, { timeoutMs: 2000, headers });
    else await this.edge.publish(SUBJECTS.inbound, data, headers);
  }

  /**
   * The stand-in edge leaves the link, as a stopping edge does: from then on it hands messages off
   * over the bus, and the workers must send to it over the bus too.
   */
  leaveLink(): void {
    this.detachEdge?.();
    this.detachEdge = undefined;
  }

  /** Waits until something matching was sent; returns it. */
  async waitFor(predicate: (s: Sent) => boolean, timeoutMs = 3000): Promise<Sent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.sent.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `nothing matching was sent; sent: ${this.sent.map((s) => s.message.toString().split('\r\n')[0]).join(' | ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** A timer service whose add, move and disarm take `ms` longer. */
function delayed(timers: TimerService, ms: number): TimerService {
  if (ms === 0) return timers;
  const pause = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    add: async (...args) => {
      await pause();
      return timers.add(...args);
    },
    move: async (...args) => {
      await pause();
      return timers.move(...args);
    },
    disarm: async (...args) => {
      await pause();
      return timers.disarm(...args);
    },
    startWorker: (handler) => timers.startWorker(handler),
    close: () => timers.close(),
  };
}

export function sip(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A caller and a callee at literal addresses: a call between them needs no location lookup. */
export const CALLER = { address: '192.0.2.1', port: 5060 };
export const CALLEE = { address: '192.0.2.30', port: 5080 };

/** The lines of CALLER's INVITE to CALLEE (a UDP Via whose branch ends with `callId`). */
export const inviteLines = (callId: string): string[] => [
  `INVITE sip:carol@${CALLEE.address}:${CALLEE.port} SIP/2.0`,
  `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK${callId}`,
  'Max-Forwards: 70',
  'To: <sip:carol@example.net>',
  'From: <sip:alice@example.com>;tag=a1',
  `Call-ID: ${callId}`,
  'CSeq: 1 INVITE',
  `Contact: <sip:alice@${CALLER.address}:${CALLER.port}>`,
];

/** The deadline fires counted by each worker's timer-lateness histogram (`timer="deadline"`). */
export async function deadlineFires(h: Harness): Promise<number[]> {
  return Promise.all(
    h.workers.map(async (worker) => {
      const text = await worker.metrics.registry.metrics();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('sipedge_worker_timer_lateness_seconds_count{timer="deadline"}'));
      return Number(line?.split(' ').pop() ?? 0);
    }),
  );
}
