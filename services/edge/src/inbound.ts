import { BusUnavailableError } from '@sipedge/bus';
import type { SelfConfig } from '@sipedge/proxy';
import {
  type InboundMeta,
  type OverloadSettings,
  endpointAttributes,
  shouldShed,
  sipAttributes,
} from '@sipedge/handoff';
import {
  type SipMessage,
  SipParseError,
  buildResponse,
  hasStatelessToTag,
  isAnswerable,
  parseMessage,
  responseDestination,
  stampReceived,
  statelessToTag,
  type Transport,
  type Via,
} from '@sipedge/sip';
import { type Logger, SpanKind, inSpan } from '@sipedge/telemetry';
import type { HandoffPort } from './handoff.js';
import type { DropReason, UdpKeepaliveKind } from './metrics.js';
import { RecentInitialRequests } from './recent-requests.js';
import { type Senders, streamSender } from './senders.js';
import { type Verdict, verdictForError, verdictForMessage } from './stateless.js';
import { isKeepaliveDatagram } from './keepalive-datagram.js';
import { isStunBindingRequest, stunBindingSuccess } from './stun.js';
import type { Arrival } from './transports/types.js';

/** The counters the pipeline reports to (EdgeMetrics implements them). */
export interface InboundCounters {
  received(transport: Transport, kind: 'request' | 'response', what?: string | number): void;
  dropped(reason: DropReason): void;
  statelessResponse(status: number): void;
  handoff(seconds: number): void;
  /** A UDP keep-alive: a STUN binding request answered, or a CRLF datagram ignored. */
  udpKeepalive(kind: UdpKeepaliveKind): void;
}

export interface InboundDeps {
  edgeId: string;
  self: SelfConfig;
  maxMessageSize: number;
  deny: { denies(address: string): boolean };
  /** The fleet's bans (`Bans` of `@sipedge/abuse`) and what a banned source gets. */
  bans: { isBanned(address: string, now: number): boolean };
  banAction: 'drop' | 'reject';
  /** Fleet-wide flood detection (`Pike`): counts every message that passed the deny list and bans. */
  pike: { count(address: string): void };
  limiter: { take(address: string, now: number): boolean };
  /** Our NAT keep-alive OPTIONS: their responses end here (`NatKeepalive`). */
  keepalives?: { answered(response: SipMessage): boolean };
  rateLimit: { action: 'reject' | 'drop'; retryAfterSeconds: number };
  /** Overload control: new initial requests are shed (503) as this edge reads late. */
  overload: OverloadSettings;
  /** How long what arrives now waits before this edge reads it (ms): its UDP receive queue's standing wait. */
  delayMs: () => number;
  /** The backlog the worker of the call `callId` reports (ms; 0: none), for its overload control. */
  workerBacklogMs: (callId: string) => number;
  /**
   * Hands a new call whose worker reports a backlog to a worker with room
   * (`WorkerDirectory.placeElsewhere`); false when there is none.
   */
  placeElsewhere: (callId: string) => boolean;
  handoff: HandoffPort;
  senders: Senders;
  counters: InboundCounters;
  logger: Logger;
  /** 64·T1: how long an initial request's branch is remembered (retransmissions while draining). */
  transactionLifetimeMs: number;
}

/**
 * The edge's receive path, before and up to the hand-off: deny list, per-source rate limit, parse
 * and stateless checks (answered or dropped here, without touching shared state), `received` /
 * `rport` on requests (§18.2.1, RFC 3581), then the hand-off to a worker.
 */
export class InboundPipeline {
  private draining = false;
  private inFlight = 0;
  private readonly recent: RecentInitialRequests;

  constructor(private readonly deps: InboundDeps) {
    this.recent = new RecentInitialRequests(deps.transactionLifetimeMs);
  }

  /** Hand-offs under way (the drain waits for them). */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * From now on initial requests that are not retransmissions of ones seen before are refused with
   * 503 (readiness is already false, so load balancers stop sending); everything else still flows.
   */
  startDraining(): void {
    this.draining = true;
  }

  datagram(data: Buffer, arrival: Arrival): Promise<void> {
    if (!this.admit(arrival, () => parseMessage(data, { validate: false, maxSize: this.deps.maxMessageSize }))) {
      return Promise.resolve();
    }
    // RFC 5626 §4.4.2: a UA behind a NAT keeps its binding open with STUN on the SIP port.
    if (isStunBindingRequest(data)) {
      this.deps.counters.udpKeepalive('stun');
      return this.answerStun(data, arrival);
    }
    if (isKeepaliveDatagram(data)) {
      this.deps.counters.udpKeepalive('crlf');
      return Promise.resolve();
    }
    let message: SipMessage;
    try {
      message = parseMessage(data, { maxSize: this.deps.maxMessageSize });
    } catch (error) {
      if (!(error instanceof SipParseError)) throw error;
      return this.rejectUnparsed(error, arrival);
    }
    return this.process(message, arrival);
  }

  streamMessage(message: SipMessage, arrival: Arrival): Promise<void> {
    if (!this.admit(arrival, () => message)) return Promise.resolve();
    return this.process(message, arrival);
  }

  streamError(error: SipParseError, arrival: Arrival): Promise<void> {
    if (!this.admit(arrival, () => error.partial)) return Promise.resolve();
    return this.rejectUnparsed(error, arrival);
  }

  /**
   * Deny list, fleet-wide bans, flood counting and the per-source rate limit: false when the message
   * goes no further. A banned source gets nothing (its connection is closed), or 403 when the
   * configuration says so; over the rate limit a request is answered 503 with Retry-After when the
   * configuration says so. Either answer only when a well-formed response can be built from the
   * message's head (`isAnswerable`).
   */
  private admit(arrival: Arrival, readHead: () => SipMessage | undefined): boolean {
    const { address } = arrival.source;
    if (this.deps.deny.denies(address)) {
      this.deps.counters.dropped('denied');
      return false;
    }
    if (this.deps.bans.isBanned(address, arrival.receivedAt)) {
      this.deps.counters.dropped('banned');
      if (this.deps.banAction === 'reject') this.refuse(arrival, readHead, 403, []);
      if (arrival.flowId !== undefined) streamSender(this.deps.senders, arrival.transport)?.closeFlow(arrival.flowId);
      return false;
    }
    this.deps.pike.count(address);
    if (this.deps.limiter.take(address, arrival.receivedAt)) return true;
    this.deps.counters.dropped('rate-limited');
    if (this.deps.rateLimit.action === 'reject') {
      this.refuse(arrival, readHead, 503, [['Retry-After', String(this.deps.rateLimit.retryAfterSeconds)]]);
    }
    return false;
  }

  private async answerStun(request: Buffer, arrival: Arrival): Promise<void> {
    const response = stunBindingSuccess(request, arrival.source);
    if (response === undefined) return;
    try {
      await this.deps.senders.udp?.send(response, arrival.source);
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'stun response not sent');
    }
  }

  /** A stateless refusal of a message that is not let in, when its head can be answered. */
  private refuse(
    arrival: Arrival,
    readHead: () => SipMessage | undefined,
    status: number,
    headers: [string, string][],
  ): void {
    let head: SipMessage | undefined;
    try {
      head = readHead();
    } catch {
      head = undefined;
    }
    if (head === undefined || !isAnswerable(head)) return;
    if (readableVia(head) !== undefined) stampReceived(head, arrival.source.address, arrival.source.port);
    void this.respond(head, arrival, { action: 'respond', status, headers });
  }

  private async rejectUnparsed(error: SipParseError, arrival: Arrival): Promise<void> {
    const verdict = verdictForError(error);
    if (verdict.action === 'respond' && error.partial !== undefined) {
      if (readableVia(error.partial) !== undefined) {
        stampReceived(error.partial, arrival.source.address, arrival.source.port);
      }
      return this.respond(error.partial, arrival, verdict);
    }
    this.deps.counters.dropped(verdict.action === 'drop' ? verdict.reason : 'unparseable');
  }

  /** One span (`sip.receive`) per message that passed the deny list and rate limit and parsed. */
  private process(message: SipMessage, arrival: Arrival): Promise<void> {
    const attributes = () => ({
      ...sipAttributes(message, arrival.transport),
      ...endpointAttributes('client', arrival.source),
      ...endpointAttributes('server', arrival.local),
    });
    return inSpan('sip.receive', { kind: SpanKind.SERVER, attributes }, () => this.handle(message, arrival));
  }

  private async handle(message: SipMessage, arrival: Arrival): Promise<void> {
    if (message.isRequest) this.deps.counters.received(arrival.transport, 'request', message.method);
    else this.deps.counters.received(arrival.transport, 'response', message.status);
    if (message.isRequest) stampReceived(message, arrival.source.address, arrival.source.port);
    else if (this.deps.keepalives?.answered(message) === true) return;
    const verdict = verdictForMessage(message, this.deps.self);
    if (verdict.action === 'drop') {
      this.deps.counters.dropped(verdict.reason);
      return;
    }
    if (verdict.action === 'respond') return this.respond(message, arrival, verdict);
    // §17.2.3 / §8.2.7: the ACK of a non-2xx response sent without state (a challenge, a 503) has
    // nothing to end: it stops here instead of costing a worker a record lookup.
    if (message.method === 'ACK' && hasStatelessToTag(message)) {
      this.deps.counters.dropped('stateless-ack');
      return;
    }
    const initial = initialRequestKey(message);
    let retransmission = false;
    if (initial !== undefined) {
      retransmission = this.recent.has(initial, arrival.receivedAt);
      if (!retransmission && this.draining) {
        this.deps.counters.dropped('draining');
        return this.respond(message, arrival, { action: 'respond', status: 503, headers: [['Retry-After', '1']] });
      }
      // Overload control (@sipedge/handoff overload.ts): a new call is refused at once, before it
      // costs a hand-off, while this edge reads late, or while its worker reports a backlog and no
      // other worker has room; a shed request is not remembered, so its retransmissions are shed too.
      const shed = retransmission ? undefined : this.shedReason(message);
      if (shed !== undefined) {
        this.deps.counters.dropped(shed);
        const retryAfter = String(this.deps.overload.retryAfterSeconds);
        return this.respond(message, arrival, {
          action: 'respond',
          status: 503,
          headers: [['Retry-After', retryAfter]],
        });
      }
      this.recent.record(initial, arrival.receivedAt);
    }
    await this.forward(message, arrival, retransmission);
  }

  /**
   * Why a new call is shed now: this edge's own wait, or its worker's backlog when no other worker
   * has room for it; undefined: it is taken (by its worker, or by one with room while its worker
   * reports a backlog).
   */
  private shedReason(message: SipMessage): 'overload' | 'worker-overload' | undefined {
    const { overload } = this.deps;
    if (shouldShed(this.deps.delayMs(), overload)) return 'overload';
    const { callId } = message;
    const backlogMs = this.deps.workerBacklogMs(callId);
    if (backlogMs > 0 && this.deps.placeElsewhere(callId)) return undefined;
    if (shouldShed(backlogMs, overload)) return 'worker-overload';
    return undefined;
  }

  private async forward(message: SipMessage, arrival: Arrival, retransmission: boolean): Promise<void> {
    const meta: InboundMeta = {
      transport: arrival.transport,
      source: arrival.source,
      local: arrival.local,
      edgeId: this.deps.edgeId,
      receivedAt: arrival.receivedAt,
    };
    if (arrival.flowId !== undefined) meta.flowId = arrival.flowId;
    if (retransmission) meta.retransmission = true;
    this.inFlight++;
    const started = process.hrtime.bigint();
    let delivered = false;
    try {
      delivered = await this.deps.handoff.forward(message, meta);
    } catch (error) {
      if (!(error instanceof BusUnavailableError)) throw error;
      this.deps.logger.warn({ err: error }, 'bus unavailable: message not handed off');
    } finally {
      this.inFlight--;
      this.deps.counters.handoff(Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (delivered) return;
    this.deps.counters.dropped('handoff-failed');
    // A request nobody took is answered 503 so the client does not wait for nothing (§21.5.4).
    if (message.isRequest && message.method !== 'ACK') {
      await this.respond(message, arrival, { action: 'respond', status: 503, headers: [['Retry-After', '1']] });
    }
  }

  /**
   * Sends a stateless response (§8.2.6, §8.2.7): on the flow the request came on, else to its Via
   * destination (§18.2.2). The To-tag is derived from the request, so a retransmission gets the
   * identical response.
   */
  private async respond(
    request: SipMessage,
    arrival: Arrival,
    verdict: Extract<Verdict, { action: 'respond' }>,
  ): Promise<void> {
    const response = buildResponse(request, verdict.status, {
      reason: verdict.reason,
      headers: verdict.headers,
      toTag: statelessToTag(request),
    });
    this.deps.counters.statelessResponse(verdict.status);
    const wire = response.toBuffer();
    try {
      const via = readableVia(request);
      if (arrival.transport === 'udp') {
        // Requests answered here have a readable Via (validated, or `isAnswerable`); failing that, the source.
        const to = via === undefined ? arrival.source : responseDestination(via);
        await this.deps.senders.udp?.send(wire, to);
        return;
      }
      const stream = streamSender(this.deps.senders, arrival.transport);
      if (stream === undefined) return;
      if (arrival.flowId !== undefined && stream.send(arrival.flowId, wire)) return;
      if (via !== undefined) {
        const flow = await stream.connect(responseDestination(via));
        stream.send(flow, wire);
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, status: verdict.status }, 'stateless response not sent');
    }
  }
}

/** The top Via, or undefined when there is none or it cannot be read. */
function readableVia(message: SipMessage): Via | undefined {
  try {
    return message.topVia;
  } catch (error) {
    if (error instanceof SipParseError) return undefined;
    throw error;
  }
}

/** Identifies an initial request (no To-tag, not ACK/CANCEL) across its retransmissions; else undefined. */
function initialRequestKey(message: SipMessage): string | undefined {
  if (!message.isRequest || message.method === 'ACK' || message.method === 'CANCEL' || message.to.tag !== undefined) {
    return undefined;
  }
  return `${message.topVia?.branch ?? ''}|${message.topVia?.sentBy ?? ''}|${message.callId}|${message.cseq.seq}`;
}
