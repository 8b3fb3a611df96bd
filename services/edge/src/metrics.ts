import {
  type DualCounter,
  type DualHistogram,
  DualMetrics,
  type DualUpDownCounter,
  type Meter,
} from '@sipedge/telemetry';
import { TRANSPORTS } from '@sipedge/sip';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { Transport } from '@sipedge/sip';

/**
 * Why the edge dropped a message without forwarding it. `message-timeout`: a TCP/TLS message not
 * complete within the message timeout (its flow is closed).
 */
export type DropReason =
  | 'unparseable'
  | 'no-via'
  | 'denied'
  | 'banned'
  | 'rate-limited'
  | 'not-our-via'
  | 'too-large'
  | 'message-timeout'
  | 'draining'
  | 'overload'
  | 'worker-overload'
  | 'stateless-ack'
  | 'handoff-failed';

/** A UDP keep-alive: `stun`, a STUN binding request (answered); `crlf`, a CRLF/NUL datagram (ignored). */
export type UdpKeepaliveKind = 'stun' | 'crlf';

const UDP_KEEPALIVE_KINDS: readonly UdpKeepaliveKind[] = ['stun', 'crlf'];

export const DROP_REASONS: readonly DropReason[] = [
  'unparseable',
  'no-via',
  'denied',
  'banned',
  'rate-limited',
  'not-our-via',
  'too-large',
  'message-timeout',
  'draining',
  'overload',
  'worker-overload',
  'stateless-ack',
  'handoff-failed',
];

/**
 * Why the edge refused a stream (TCP/TLS) or WebSocket connection. Includes the transports' own
 * `StreamRejectReason`s and `WebSocketRejectReason`s, so their `onRejected` callbacks can pass
 * their reasons straight through.
 */
export type ConnectionRejectReason =
  | 'denied'
  | 'banned'
  | 'rate-limited'
  | 'per-source-limit'
  | 'total-limit'
  | 'handshake-failed'
  | 'draining'
  | 'bad-origin'
  | 'no-sip-subprotocol'
  | 'not-websocket';

export const CONNECTION_REJECT_REASONS: readonly ConnectionRejectReason[] = [
  'denied',
  'banned',
  'rate-limited',
  'per-source-limit',
  'total-limit',
  'handshake-failed',
  'draining',
  'bad-origin',
  'no-sip-subprotocol',
  'not-websocket',
];

export type MessageKind = 'request' | 'response';

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
  /** The OpenTelemetry meter; default sipedge's meter of the global meter provider (tests pass their own). */
  meter?: Meter;
}

/**
 * The edge's metrics. Each measurement is recorded once into two sinks (DualMetrics of
 * @sipedge/telemetry, as the worker's):
 *
 * - OpenTelemetry instruments (`sipedge.edge.*`), exported over OTLP when the SDK runs (see
 *   @sipedge/telemetry), no-ops otherwise;
 * - a prom-client registry of this instance (`sipedge_edge_*`), served on the edge's `/metrics`
 *   (not prom-client's global default registry, so that instances never collide).
 *
 * Methods are typed so that label values stay within known sets: label cardinality is bounded by
 * construction. The label sets known in advance are initialised to zero, so that every series
 * exists from the start and `rate()` sees the first increment.
 *
 * Create it after `startTelemetry`: the metrics API binds instruments to the meter provider
 * registered at creation.
 */
export class EdgeMetrics {
  /** The registry to expose on `/metrics`. */
  readonly registry: Registry;

  readonly #received: DualCounter<'transport' | 'kind'>;
  readonly #requests: DualCounter<'method'>;
  readonly #responses: DualCounter<'class'>;
  readonly #dropped: DualCounter<'reason'>;
  readonly #statelessResponses: DualCounter<'status'>;
  readonly #rateLimited: DualCounter;
  readonly #connectionsRejected: DualCounter<'reason'>;
  readonly #openFlows: DualUpDownCounter;
  readonly #handoff: DualHistogram;
  readonly #handoffsRerouted: DualCounter;
  readonly #callsPlacedElsewhere: DualCounter;
  readonly #udpKeepalives: DualCounter<'kind'>;

  constructor(options: EdgeMetricsOptions = {}) {
    const sinks = new DualMetrics(options.meter);
    this.registry = sinks.registry;
    this.#received = sinks.counter({
      otelName: 'sipedge.edge.messages.received',
      promName: 'sipedge_edge_messages_received_total',
      description: 'SIP messages received, by transport and kind (request or response).',
      labelNames: ['transport', 'kind'],
    });
    this.#requests = sinks.counter({
      otelName: 'sipedge.edge.requests',
      promName: 'sipedge_edge_requests_total',
      description: 'SIP requests received, by method (a method not in the known set is "other").',
      labelNames: ['method'],
    });
    this.#responses = sinks.counter({
      otelName: 'sipedge.edge.responses',
      promName: 'sipedge_edge_responses_total',
      description: 'SIP responses received (from downstream), by class (1xx to 6xx).',
      labelNames: ['class'],
    });
    this.#dropped = sinks.counter({
      otelName: 'sipedge.edge.messages.dropped',
      promName: 'sipedge_edge_messages_dropped_total',
      description: 'SIP messages dropped by the edge without being forwarded, by reason.',
      labelNames: ['reason'],
    });
    this.#statelessResponses = sinks.counter({
      otelName: 'sipedge.edge.stateless_responses',
      promName: 'sipedge_edge_stateless_responses_total',
      description: 'Responses the edge sent statelessly itself (e.g. 400, 503), by status code.',
      labelNames: ['status'],
    });
    this.#rateLimited = sinks.counter({
      otelName: 'sipedge.edge.rate_limited',
      promName: 'sipedge_edge_rate_limited_total',
      description: 'Refusals by the per-source rate limiter: messages dropped plus connections rejected.',
    });
    this.#connectionsRejected = sinks.counter({
      otelName: 'sipedge.edge.connections.rejected',
      promName: 'sipedge_edge_connections_rejected_total',
      description: 'Stream (TCP/TLS) connections refused by the edge, by reason.',
      labelNames: ['reason'],
    });
    this.#openFlows = sinks.upDownCounter({
      otelName: 'sipedge.edge.open_flows',
      promName: 'sipedge_edge_open_flows',
      description: 'Stream (TCP/TLS) flows currently open.',
    });
    this.#handoff = sinks.histogram({
      otelName: 'sipedge.edge.handoff.duration',
      promName: 'sipedge_edge_handoff_seconds',
      description: 'Latency of handing a message off to the workers over NATS, in seconds.',
      unit: 's',
      buckets: HANDOFF_BUCKETS,
    });
    this.#handoffsRerouted = sinks.counter({
      otelName: 'sipedge.edge.handoff.rerouted',
      promName: 'sipedge_edge_handoffs_rerouted_total',
      description:
        'Hand-offs to the worker a call is bound to that reached nobody (the worker was gone), sent to any worker instead.',
    });
    this.#callsPlacedElsewhere = sinks.counter({
      otelName: 'sipedge.edge.calls.placed_elsewhere',
      promName: 'sipedge_edge_calls_placed_elsewhere_total',
      description:
        'New calls handed to another worker than their own (call affinity), whose own worker reported a backlog (overload control).',
    });
    this.#udpKeepalives = sinks.counter({
      otelName: 'sipedge.edge.udp_keepalives',
      promName: 'sipedge_edge_udp_keepalives_total',
      description: 'UDP keep-alives received: STUN binding requests (answered) and CRLF datagrams (ignored), by kind.',
      labelNames: ['kind'],
    });

    for (const transport of TRANSPORTS) {
      for (const kind of KINDS) this.#received.add({ transport, kind }, 0);
    }
    for (const method of [...METHODS, 'other']) this.#requests.add({ method }, 0);
    for (const c of RESPONSE_CLASSES) this.#responses.add({ class: c }, 0);
    for (const reason of DROP_REASONS) this.#dropped.add({ reason }, 0);
    for (const kind of UDP_KEEPALIVE_KINDS) this.#udpKeepalives.add({ kind }, 0);
    for (const reason of CONNECTION_REJECT_REASONS) this.#connectionsRejected.add({ reason }, 0);
    this.#rateLimited.add({}, 0);
    this.#handoffsRerouted.add({}, 0);
    this.#callsPlacedElsewhere.add({}, 0);
    this.#openFlows.add(0);
    if (options.defaultMetrics ?? true) {
      // Prometheus only: OpenTelemetry has its own process and runtime instrumentations.
      collectDefaultMetrics({ register: this.registry, prefix: 'sipedge_edge_' });
    }
  }

  /**
   * A message arrived and parsed (counted before the stateless checks, so drops can be compared with
   * arrivals). `what` is a request's method or a response's status code.
   */
  received(transport: Transport, kind: MessageKind, what?: string | number): void {
    this.#received.add({ transport, kind });
    if (typeof what === 'string') this.#requests.add({ method: METHODS.includes(what) ? what : 'other' });
    else if (what !== undefined && what >= 100 && what <= 699) {
      this.#responses.add({ class: `${Math.floor(what / 100)}xx` });
    }
  }

  /** A message was dropped. `rate-limited` also counts in `sipedge_edge_rate_limited_total`. */
  dropped(reason: DropReason): void {
    this.#dropped.add({ reason });
    if (reason === 'rate-limited') {
      this.#rateLimited.add();
    }
  }

  /** The edge answered a request itself, statelessly, with this status code. */
  statelessResponse(status: number): void {
    this.#statelessResponses.add({ status: String(status) });
  }

  /** A stream connection was refused. `rate-limited` also counts in `sipedge_edge_rate_limited_total`. */
  connectionRejected(reason: ConnectionRejectReason): void {
    this.#connectionsRejected.add({ reason });
    if (reason === 'rate-limited') {
      this.#rateLimited.add();
    }
  }

  /** A UDP keep-alive arrived (RFC 5626 §4.4). */
  udpKeepalive(kind: UdpKeepaliveKind): void {
    this.#udpKeepalives.add({ kind });
  }

  /** A hand-off to the workers took this long, in seconds. */
  handoff(seconds: number): void {
    this.#handoff.record(seconds);
  }

  /** A hand-off to a call's worker reached nobody and went to any worker. */
  handoffRerouted(): void {
    this.#handoffsRerouted.add({});
  }

  /** A new call went to another worker than its own, which reported a backlog. */
  callPlacedElsewhere(): void {
    this.#callsPlacedElsewhere.add({});
  }

  /** A stream flow opened. */
  flowOpened(): void {
    this.#openFlows.add(1);
  }

  /** A stream flow closed. */
  flowClosed(): void {
    this.#openFlows.add(-1);
  }
}
