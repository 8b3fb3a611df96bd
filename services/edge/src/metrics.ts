import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TransportName } from './transports/types.js';

/** Why the edge dropped a message without forwarding it. */
export type DropReason =
  'unparseable' | 'no-via' | 'denied' | 'rate-limited' | 'not-our-via' | 'too-large' | 'draining' | 'handoff-failed';

export const DROP_REASONS: readonly DropReason[] = [
  'unparseable',
  'no-via',
  'denied',
  'rate-limited',
  'not-our-via',
  'too-large',
  'draining',
  'handoff-failed',
];

/**
 * Why the edge refused a stream (TCP/TLS) connection. Includes the stream transport's own
 * `StreamRejectReason`s (`per-source-limit`, `handshake-failed`), so its `onRejected` callback can
 * pass its reason straight through.
 */
export type ConnectionRejectReason = 'denied' | 'rate-limited' | 'per-source-limit' | 'handshake-failed' | 'draining';

export const CONNECTION_REJECT_REASONS: readonly ConnectionRejectReason[] = [
  'denied',
  'rate-limited',
  'per-source-limit',
  'handshake-failed',
  'draining',
];

export type MessageKind = 'request' | 'response';

const TRANSPORTS: readonly TransportName[] = ['udp', 'tcp', 'tls'];

/** The request methods counted by name (RFC 3261 and the common extensions); any other is `other`. */
export const METHODS: readonly string[] = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'REGISTER',
  'OPTIONS',
  'PRACK',
  'UPDATE',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'REFER',
  'MESSAGE',
  'INFO',
];
const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;
const KINDS: readonly MessageKind[] = ['request', 'response'];

/** Hand-off latency buckets in seconds, 0.1 ms to 1 s: a NATS publish normally takes well under a millisecond. */
export const HANDOFF_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

export interface EdgeMetricsOptions {
  /**
   * Also collect prom-client's process and Node.js metrics (CPU, memory, GC, event loop), prefixed
   * `sipedge_edge_`. Default true; tests that create several instances turn it off, since each
   * collection installs its own observers.
   */
  defaultMetrics?: boolean;
}

/**
 * The edge's Prometheus metrics, in a registry of their own (not prom-client's global default
 * registry, so that instances never collide). Methods are typed so that label values stay within
 * known sets: label cardinality is bounded by construction. The label sets known in advance are
 * initialised to zero, so that every series exists from the start and `rate()` sees the first
 * increment.
 */
export class EdgeMetrics {
  /** The registry to expose on `/metrics`. */
  readonly registry = new Registry();

  readonly #received = new Counter<'transport' | 'kind'>({
    name: 'sipedge_edge_messages_received_total',
    help: 'SIP messages received, by transport and kind (request or response).',
    labelNames: ['transport', 'kind'],
    registers: [this.registry],
  });
  readonly #requests = new Counter<'method'>({
    name: 'sipedge_edge_requests_total',
    help: 'SIP requests received, by method (a method not in the known set is "other").',
    labelNames: ['method'],
    registers: [this.registry],
  });
  readonly #responses = new Counter<'class'>({
    name: 'sipedge_edge_responses_total',
    help: 'SIP responses received (from downstream), by class (1xx to 6xx).',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly #dropped = new Counter<'reason'>({
    name: 'sipedge_edge_messages_dropped_total',
    help: 'SIP messages dropped by the edge without being forwarded, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #statelessResponses = new Counter<'status'>({
    name: 'sipedge_edge_stateless_responses_total',
    help: 'Responses the edge sent statelessly itself (e.g. 400, 503), by status code.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly #rateLimited = new Counter({
    name: 'sipedge_edge_rate_limited_total',
    help: 'Refusals by the per-source rate limiter: messages dropped plus connections rejected.',
    registers: [this.registry],
  });
  readonly #connectionsRejected = new Counter<'reason'>({
    name: 'sipedge_edge_connections_rejected_total',
    help: 'Stream (TCP/TLS) connections refused by the edge, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #openFlows = new Gauge({
    name: 'sipedge_edge_open_flows',
    help: 'Stream (TCP/TLS) flows currently open.',
    registers: [this.registry],
  });
  readonly #handoff = new Histogram({
    name: 'sipedge_edge_handoff_seconds',
    help: 'Latency of handing a message off to the workers over NATS, in seconds.',
    buckets: [...HANDOFF_BUCKETS],
    registers: [this.registry],
  });

  constructor(options: EdgeMetricsOptions = {}) {
    for (const transport of TRANSPORTS) {
      for (const kind of KINDS) {
        this.#received.inc({ transport, kind }, 0);
      }
    }
    for (const method of [...METHODS, 'other']) this.#requests.inc({ method }, 0);
    for (const c of RESPONSE_CLASSES) this.#responses.inc({ class: c }, 0);
    for (const reason of DROP_REASONS) {
      this.#dropped.inc({ reason }, 0);
    }
    for (const reason of CONNECTION_REJECT_REASONS) {
      this.#connectionsRejected.inc({ reason }, 0);
    }
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'sipedge_edge_' });
    }
  }

  /**
   * A message arrived and parsed (counted before the stateless checks, so drops can be compared with
   * arrivals). `what` is a request's method or a response's status code.
   */
  received(transport: TransportName, kind: MessageKind, what?: string | number): void {
    this.#received.inc({ transport, kind });
    if (typeof what === 'string') this.#requests.inc({ method: METHODS.includes(what) ? what : 'other' });
    else if (what !== undefined && what >= 100 && what <= 699) {
      this.#responses.inc({ class: `${Math.floor(what / 100)}xx` });
    }
  }

  /** A message was dropped. `rate-limited` also counts in `sipedge_edge_rate_limited_total`. */
  dropped(reason: DropReason): void {
    this.#dropped.inc({ reason });
    if (reason === 'rate-limited') {
      this.#rateLimited.inc();
    }
  }

  /** The edge answered a request itself, statelessly, with this status code. */
  statelessResponse(status: number): void {
    this.#statelessResponses.inc({ status: String(status) });
  }

  /** A stream connection was refused. `rate-limited` also counts in `sipedge_edge_rate_limited_total`. */
  connectionRejected(reason: ConnectionRejectReason): void {
    this.#connectionsRejected.inc({ reason });
    if (reason === 'rate-limited') {
      this.#rateLimited.inc();
    }
  }

  /** A hand-off to the workers took this long, in seconds. */
  handoff(seconds: number): void {
    this.#handoff.observe(seconds);
  }

  /** A stream flow opened. */
  flowOpened(): void {
    this.#openFlows.inc();
  }

  /** A stream flow closed. */
  flowClosed(): void {
    this.#openFlows.dec();
  }
}
