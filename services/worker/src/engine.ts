import type { InboundMeta, KeepaliveTarget } from '@sipedge/handoff';
import {
  type ContextAction,
  type ContextEvent,
  type DialogSide,
  type HiddenSide,
  type PrepareOptions,
  type ProxyConfig,
  type RouteTokenKeys,
  type AddressFamily,
  addressFamily,
  applyContextEvent,
  concealRequest,
  concealResponse,
  dialogRecordRoute,
  forkBranch,
  forwardRequest,
  forwardResponse,
  loopHash,
  startContext,
  withRoute,
  withRouteSet,
} from '@sipedge/proxy';
import {
  type SipMessage,
  type SipUri,
  type TelUri,
  buildResponse,
  parseMessage,
  parseUri,
  responseDestination,
} from '@sipedge/sip';
import {
  type Step,
  type TimerName,
  type TimerSettings,
  type TransactionEvent,
  type TransactionState,
  RecentMap,
  applyEvent,
  buildCancel,
  cloneJson,
  createClientTransaction,
  createServerTransaction,
} from '@sipedge/transaction';
import type { DialogInfo } from '@sipedge/store';
import { dialogId } from './dialogs.js';
import { DECISION_TIMER, EXPIRES_TIMER, dueTimers } from './deadlines.js';
import type { CallRecord, ForkRecord, Hop, TxId } from './record.js';

/** Parsed stored messages kept (`storedMessage`): those of the calls of the last second or two at a high rate. */
const PARSED_STORED_KEPT = 2048;

/**
 * Messages a record holds, parsed, by their text: the steps of one event, and the events of one
 * call, read the same request again and again (its Via, its Route set, the fork template), and
 * the text is the same string as long as the record is kept.
 */
const parsedStored = new RecentMap<string, SipMessage>(PARSED_STORED_KEPT);

/** What the worker does after committing a record. */
export type Effect =
  | { type: 'send'; wire: Buffer; hop: Hop; kind: 'request' | 'response'; fork?: number }
  /** For the connection blacklist: a downstream hop failed (transport error, Timer B/F, 503) or answered. */
  | { type: 'hop-health'; hop: Hop; ok: boolean }
  /** A dialog we stay in was confirmed (dialogs.ts), or its BYE came. */
  | { type: 'dialog-open'; dialog: DialogInfo }
  | { type: 'dialog-close'; id: string };

export interface EngineSettings {
  proxy: ProxyConfig;
  /** The fleet's keys for the tokens of our Record-Routes (dialog-trust.ts in libs/proxy). */
  routeTokens: RouteTokenKeys;
  timers: TimerSettings;
  /** Run Timer C on INVITE forks (§16.6 step 11). */
  timerC: boolean;
}

/**
 * The Record-Route options of a request forwarded on `hop` (§16.6 step 4, RFC 5658): none, or
 * our two URIs, the downstream one naming the hop's flow when the hop is a UA's own flow. With
 * `concealed` (topology hiding: the Record-Route values `concealRequest` removed) both tokens are
 * sealed and the upstream one carries them.
 */
export function recordRouteFor(
  keys: RouteTokenKeys,
  request: SipMessage,
  upstream: DialogSide | null,
  hop: Hop,
  concealed?: readonly string[],
): Pick<PrepareOptions, 'recordRoute' | 'recordRouteSides'> {
  if (upstream === null) return { recordRoute: false };
  const downstream: DialogSide =
    hop.flow === true
      ? {
          transport: hop.transport,
          flow: {
            transport: hop.transport,
            address: hop.address,
            port: hop.port,
            ...(hop.edgeId === undefined ? {} : { edgeId: hop.edgeId }),
            ...(hop.flowId === undefined ? {} : { flowId: hop.flowId }),
          },
        }
      : { transport: hop.transport };
  const family = addressFamily(hop.address);
  return {
    recordRoute: true,
    recordRouteSides: dialogRecordRoute(keys, request, {
      downstream: family === undefined ? downstream : { ...downstream, family },
      upstream: concealed === undefined ? upstream : { ...upstream, routes: concealed },
      sealed: concealed !== undefined,
    }),
  };
}

/** The `outboundFamily` option of a request sent to `address` (its Via names our address of that family). */
export function familyOf(address: string): { outboundFamily?: AddressFamily } {
  const family = addressFamily(address);
  return family === undefined ? {} : { outboundFamily: family };
}

/** The request to forward on `hop`: with the hop's forced Route on top when it has one (a dispatcher hop). */
export function requestForHop(template: SipMessage, hop: Hop): SipMessage {
  const routed = hop.routeSet === undefined ? template : withRouteSet(template, hop.routeSet);
  return hop.route === undefined ? routed : withRoute(routed, hop.route);
}

/** The side a message sent to `address` over `transport` reaches: what our masked Contact URIs name (topology.ts). */
export function sideOf(transport: Hop['transport'], address: string): HiddenSide {
  const family = addressFamily(address);
  return family === undefined ? { transport } : { transport, family };
}

/**
 * The request to forward on `hop` and its Record-Route options (§16.6 steps 4 and 6): towards a
 * hidden hop without its side's Vias, Record-Routes and Contacts, which travel sealed in our
 * Record-Route or stay in the server transaction (topology.ts).
 */
export function outboundRequest(
  settings: Pick<EngineSettings, 'proxy' | 'routeTokens'>,
  template: SipMessage,
  upstream: DialogSide | null,
  hop: Hop,
): { request: SipMessage } & Pick<PrepareOptions, 'recordRoute' | 'recordRouteSides'> {
  const routed = requestForHop(template, hop);
  const concealed =
    hop.hidden === true
      ? concealRequest(settings.routeTokens, settings.proxy, routed, sideOf(hop.transport, hop.address))
      : undefined;
  return {
    request: concealed?.request ?? routed,
    ...recordRouteFor(settings.routeTokens, routed, upstream, hop, concealed?.recordRoutes),
  };
}

/** How the TU decided to handle a new request (see tu.ts). */
export type Decision =
  /**
   * Answer locally. `stateless`: send without creating a record (a digest challenge, §8.2.7):
   * its retransmissions get the identical response and its ACK is absorbed.
   */
  | {
      kind: 'respond';
      response: SipMessage;
      stateless?: boolean;
      /** A registration behind a NAT the edge that received it is to keep open (RFC 5626 §4.4). */
      keepalive?: KeepaliveTarget;
    }
  /** Nothing at all: the source is banned (abuse protection), it gets no answer and leaves no state. */
  | { kind: 'ignore' }
  | {
      kind: 'proxy';
      /** The request after route pre-processing. */
      template: SipMessage;
      targets: { uri: string; q: number; group: number; hops: Hop[] }[];
      /** The upstream side of the double Record-Route to insert (§16.6 step 4, RFC 5658); null: none. */
      recordRoute: DialogSide | null;
      /** A BYE inside a dialog we serve: that dialog's id (dialogs.ts), closed as it is forwarded. */
      endsDialog?: string;
    };

export interface EngineResult {
  record: CallRecord;
  effects: Effect[];
}

const reliable = (hop: { transport: string }) => hop.transport !== 'udp';
const wireOf = (m: SipMessage) => m.toBuffer().toString('latin1');

/** At most this many timers fire in one step (a bound, not a limit any record reaches). */
const MAX_DUE_PER_STEP = 100;

/** A record created without a decision answers 500 if none has come within this many T1 (64·T1, as Timer B). */
export const DECISION_TIMEOUT_T1 = 64;

/**
 * Creates the record of a new request: its server transaction (an INVITE's sends 100 Trying at
 * once, §17.2.1), then the TU's decision — or, with `decision` null, none yet: the record waits
 * for it (a `decision` event) while retransmissions are absorbed by the server transaction, and
 * answers 500 if it has not come within 64·T1.
 */
export function createCall(
  id: string,
  request: SipMessage,
  origin: InboundMeta,
  decision: Decision | null,
  now: number,
  settings: EngineSettings,
): EngineResult {
  const created = createServerTransaction(request, { reliable: reliable(origin), settings: settings.timers }, now);
  // The request as the edge parsed it: the steps after this one read it from the record.
  parsedStored.set(created.state.request, request.clone());
  const record: CallRecord = {
    v: 1,
    id,
    server: created.state,
    origin,
    proxy: null,
    template: null,
    hops: {},
    recordRoute: null,
    forks: [],
    cancelServer: null,
    cancelOrigin: null,
    responseTo: responseDestinationOf(request, origin),
  };
  const run = new Run(record, now, settings);
  run.serverStep('s', created);
  if (decision === null) record.decisionDue = now + DECISION_TIMEOUT_T1 * settings.timers.t1;
  else run.decide(decision);
  return run.result();
}

export type CallEvent =
  /**
   * A retransmission of the request, or the ACK of a non-2xx final response. `redelivered`: an
   * edge's hand-off retry of it (InboundMeta.redelivered).
   */
  | { type: 'request'; message: SipMessage; redelivered?: boolean }
  | { type: 'response'; fork: number; message: SipMessage }
  /** The edge could not deliver a fork's request (§16.9). */
  | { type: 'transport-error'; fork: number }
  /** A CANCEL for this request (§16.10), or its retransmission. */
  | { type: 'cancel'; message: SipMessage; origin: InboundMeta }
  /** The TU's decision for a record created without one. */
  | { type: 'decision'; decision: Decision };

/**
 * Applies one event to a loaded record; the input record is not changed. The record's timers that
 * are due by `now` fire first, in due order: what happened by then happened before the event.
 */
export function applyToCall(input: CallRecord, event: CallEvent, now: number, settings: EngineSettings): EngineResult {
  const run = new Run(cloneJson(input), now, settings);
  run.fireDue();
  run.event(event);
  return run.result();
}

/** Fires the record's timers due by `now` (deadlines.ts); null when none is. */
export function fireDueTimers(input: CallRecord, now: number, settings: EngineSettings): EngineResult | null {
  const run = new Run(cloneJson(input), now, settings);
  return run.fireDue() === 0 ? null : run.result();
}

/** One step over a record: feeds transactions and the response context, collecting effects. */
class Run {
  private readonly effects: Effect[] = [];

  constructor(
    private readonly record: CallRecord,
    private readonly now: number,
    private readonly settings: EngineSettings,
  ) {}

  result(): EngineResult {
    const r = this.record;
    // Once a final response went upstream the INVITE's Expires has nothing left to end.
    if (r.expiresDue !== undefined && r.proxy?.finalForwarded === true) delete r.expiresDue;
    return { record: r, effects: this.effects };
  }

  /** Fires the timers due by now, earliest first; returns how many fired. */
  fireDue(): number {
    let fired = 0;
    for (; fired < MAX_DUE_PER_STEP; fired++) {
      const [next] = dueTimers(this.record, this.now);
      if (next === undefined) break;
      this.timer(next.name, next.generation);
    }
    return fired;
  }

  event(event: CallEvent): void {
    const r = this.record;
    switch (event.type) {
      case 'request':
        if (r.server !== null)
          this.serverStep(
            's',
            applyEvent(r.server, { type: 'request', message: event.message }, this.now, this.settings.timers),
          );
        if (event.redelivered === true) this.resendUnanswered();
        return;
      case 'response': {
        const fork = r.forks[event.fork];
        // §17.1.3: a response matches by branch and CSeq method: a CANCEL's goes to its own transaction.
        if (event.message.cseq.method === 'CANCEL') {
          if (fork?.cancel != null) {
            this.cancelStep(
              event.fork,
              applyEvent(fork.cancel, { type: 'response', message: event.message }, this.now, this.settings.timers),
            );
          }
          return;
        }
        if (fork?.tx != null)
          this.forkStep(
            event.fork,
            applyEvent(fork.tx, { type: 'response', message: event.message }, this.now, this.settings.timers),
          );
        return;
      }
      case 'transport-error': {
        const fork = r.forks[event.fork];
        if (fork?.tx != null)
          this.forkStep(event.fork, applyEvent(fork.tx, { type: 'transport-error' }, this.now, this.settings.timers));
        return;
      }
      case 'cancel':
        return this.cancel(event.message, event.origin);
      case 'decision':
        if (r.decisionDue === undefined) return;
        delete r.decisionDue;
        // A CANCEL while deciding was answered 487 already (§9.2): nothing left to decide.
        if (r.server?.kind === 'ist' && r.server.state !== 'proceeding') return;
        return this.decide(event.decision);
    }
  }

  /** Applies the TU's decision: a local answer, or the proxy's response context and its forks (§16.6). */
  decide(decision: Decision): void {
    const r = this.record;
    if (decision.kind === 'ignore') throw new TypeError('an ignored request has no call');
    if (decision.kind === 'respond') {
      this.sendResponse(decision.response);
      return;
    }
    const request = serverRequest(r);
    if (decision.endsDialog !== undefined) this.effects.push({ type: 'dialog-close', id: decision.endsDialog });
    const template = wireOf(decision.template);
    // Stored once: usually the request is forwarded as it came (no Route of ours to pop).
    r.template = template === r.server?.request ? null : template;
    r.recordRoute = decision.recordRoute;
    for (const t of decision.targets) r.hops[t.uri] = t.hops;
    const started = startContext(
      r.id,
      request.method,
      decision.targets.map((t) => ({ uri: t.uri, group: t.group })),
    );
    r.proxy = started.context;
    this.contextActions(started.actions);
    // An INVITE's Expires (§20.19, §13.3.1): when it runs out unanswered, its branches are CANCELled.
    const expires = request.method === 'INVITE' ? request.expires : undefined;
    if (expires !== undefined && expires > 0) r.expiresDue = this.now + expires * 1000;
  }

  private timer(name: string, generation: number): void {
    const r0 = this.record;
    if (name === EXPIRES_TIMER) {
      delete r0.expiresDue;
      const context = r0.proxy;
      if (context !== null && !context.stopped && !context.finalForwarded) this.contextEvent({ type: 'cancel' });
      return;
    }
    if (name === DECISION_TIMER) {
      if (r0.decisionDue === undefined) return;
      delete r0.decisionDue;
      this.sendResponse(
        parseMessage(buildResponse(serverRequest(r0), 500, { reason: 'Decision Not Made' }).toBuffer()),
      );
      return;
    }
    const dot = name.indexOf('.');
    const txId = name.slice(0, dot) as TxId;
    const timer = name.slice(dot + 1) as TimerName;
    const event: TransactionEvent = { type: 'timer', timer, generation };
    const r = this.record;
    if (txId === 's' && r.server !== null)
      return this.serverStep('s', applyEvent(r.server, event, this.now, this.settings.timers));
    if (txId === 'k' && r.cancelServer !== null) {
      return this.serverStep('k', applyEvent(r.cancelServer, event, this.now, this.settings.timers));
    }
    const index = Number(txId.slice(1));
    const fork = r.forks[index];
    if (fork === undefined) return;
    if (txId.startsWith('f') && fork.tx !== null)
      this.forkStep(index, applyEvent(fork.tx, event, this.now, this.settings.timers));
    if (txId.startsWith('x') && fork.cancel !== null) {
      this.cancelStep(index, applyEvent(fork.cancel, event, this.now, this.settings.timers));
    }
  }

  /** §16.10: answer the CANCEL with 200 at once, then CANCEL the pending forks. */
  private cancel(message: SipMessage, origin: InboundMeta): void {
    const r = this.record;
    if (r.cancelServer !== null) {
      this.serverStep('k', applyEvent(r.cancelServer, { type: 'request', message }, this.now, this.settings.timers));
      return;
    }
    r.cancelOrigin = origin;
    const created = createServerTransaction(
      message,
      { reliable: reliable(origin), settings: this.settings.timers },
      this.now,
    );
    this.serverStep('k', created);
    const ok = parseMessage(buildResponse(message, 200).toBuffer());
    this.serverStep(
      'k',
      applyEvent(r.cancelServer!, { type: 'send-response', message: ok }, this.now, this.settings.timers),
    );
    if (r.proxy !== null) this.contextEvent({ type: 'cancel' });
    else if (r.server !== null && r.server.kind === 'ist' && r.server.state === 'proceeding') {
      // Answered locally and still pending: a UAS answers 487 to the INVITE (§9.2).
      this.sendResponse(parseMessage(buildResponse(serverRequest(r), 487).toBuffer()));
    }
  }

  /** Sends a response upstream through the server transaction (§16.7 step 8). */
  sendResponse(response: SipMessage): void {
    const r = this.record;
    if (r.server === null) return;
    this.serverStep(
      's',
      applyEvent(r.server, { type: 'send-response', message: response }, this.now, this.settings.timers),
    );
  }

  serverStep(id: 's' | 'k', step: Step): void {
    const r = this.record;
    const origin = id === 's' ? r.origin : (r.cancelOrigin ?? r.origin);
    if (id === 's' && step.state.state === 'terminated') {
      // The fork template outlives the server transaction it may be stored in.
      r.template ??= r.server?.request ?? null;
      r.server = null;
    } else if (id === 's') r.server = step.state;
    else r.cancelServer = step.state.state === 'terminated' ? null : step.state;
    for (const action of step.actions) {
      if (action.type === 'send') {
        const to = id === 's' ? r.responseTo : undefined;
        this.effects.push({
          type: 'send',
          wire: action.wire,
          hop: responseHop(step.state, origin, to),
          kind: 'response',
        });
      }
    }
  }

  /**
   * The request came again from an edge whose hand-off no worker confirmed: the worker that took
   * it may have died between its commit and its sends. Every fork request over a reliable
   * transport that has had no response is sent again; the next hop's server transaction absorbs
   * it if the first one arrived (RFC 3261 §17.2.1, §17.2.2). Over UDP nothing is needed: a fork's
   * overdue retransmission timer fires on the next load (`fireDue`).
   */
  private resendUnanswered(): void {
    this.record.forks.forEach((fork, index) => {
      const tx = fork.tx;
      if (tx === null || !tx.reliable || (tx.state !== 'calling' && tx.state !== 'trying')) return;
      this.effects.push({
        type: 'send',
        wire: Buffer.from(tx.request, 'latin1'),
        hop: fork.hop,
        kind: 'request',
        fork: index,
      });
    });
  }

  private forkStep(index: number, step: Step): void {
    const fork = this.record.forks[index]!;
    fork.tx = step.state.state === 'terminated' ? null : step.state;
    for (const action of step.actions) {
      switch (action.type) {
        case 'send':
          this.effects.push({ type: 'send', wire: action.wire, hop: fork.hop, kind: 'request', fork: index });
          break;
        case 'to-tu':
          this.effects.push({ type: 'hop-health', hop: fork.hop, ok: action.message.status !== 503 });
          // A 503 from this hop: try the next resolved hop before the response context sees it (§16.6 step 7).
          if (action.message.status === 503 && this.retryFork(index)) break;
          this.contextEvent({ type: 'response', fork: index, message: action.message });
          break;
        case 'timeout':
          if (action.timer !== 'C') {
            this.effects.push({ type: 'hop-health', hop: fork.hop, ok: false });
            if (this.retryFork(index)) break;
          }
          this.contextEvent({ type: 'timeout', fork: index });
          break;
        case 'transport-error':
          if (this.retryOverUdp(index)) break;
          this.effects.push({ type: 'hop-health', hop: fork.hop, ok: false });
          if (this.retryFork(index)) break;
          this.contextEvent({ type: 'transport-error', fork: index });
          break;
        case 'cancel-branch':
          this.contextEvent({ type: 'timer-c', fork: index });
          break;
      }
    }
  }

  private cancelStep(index: number, step: Step): void {
    const fork = this.record.forks[index]!;
    fork.cancel = step.state.state === 'terminated' ? null : step.state;
    for (const action of step.actions) {
      if (action.type === 'send')
        this.effects.push({ type: 'send', wire: action.wire, hop: fork.hop, kind: 'request' });
    }
  }

  private contextEvent(event: ContextEvent): void {
    const r = this.record;
    if (r.proxy === null) return;
    const step = applyContextEvent(r.proxy, event);
    r.proxy = step.context;
    this.contextActions(step.actions);
  }

  contextActions(actions: ContextAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'start-fork':
          this.startFork(action.fork, action.target);
          break;
        case 'forward-response':
          this.forwardUpstream(action.fork, action.message, action.addHeaders ?? []);
          break;
        case 'respond':
          this.sendResponse(parseMessage(buildResponse(serverRequest(this.record), action.status).toBuffer()));
          break;
        case 'cancel-fork':
          this.cancelFork(action.fork);
          break;
        case 'complete':
          break;
      }
    }
  }

  /**
   * Failover (§16.6 step 7, RFC 3263 §4.3): a new attempt of a fork on the target's next resolved
   * hop, with a new branch, when there is one and nothing upstream is settled (no final response
   * forwarded, no CANCEL). False otherwise.
   */
  private retryFork(index: number): boolean {
    const retry = this.retryable(index);
    if (retry === undefined) return false;
    const { fork, target } = retry;
    if (fork.attempt + 1 >= (this.record.hops[target]?.length ?? 0)) return false;
    this.startFork(index, target, fork.attempt + 1);
    return true;
  }

  /**
   * §18.1.1: "If an element sends a request over TCP because of these message size constraints, and
   * that request would have otherwise been sent over UDP, if the attempt to establish the connection
   * generates either an ICMP Protocol Not Supported, or results in a TCP reset, the element SHOULD
   * retry the request, using UDP." False when that is not this fork's case (or it was retried so).
   */
  private retryOverUdp(index: number): boolean {
    const retry = this.retryable(index);
    if (retry === undefined) return false;
    const { fork, target } = retry;
    const planned = this.record.hops[target]?.[fork.attempt];
    if (planned?.transport !== 'udp' || fork.hop.transport !== 'tcp' || fork.udpRetry === true) return false;
    this.startFork(index, target, fork.attempt, true);
    return true;
  }

  /**
   * A fork that may start another attempt (§16.6 step 7, §18.1.1), with its target: one that exists
   * while nothing upstream is settled (no final response forwarded, no CANCEL). Undefined otherwise.
   */
  private retryable(index: number): { fork: ForkRecord; target: string } | undefined {
    const fork = this.record.forks[index];
    const context = this.record.proxy;
    if (fork === undefined || context === null || context.stopped || context.finalForwarded) return undefined;
    const target = context.forks[index]?.target;
    return target === undefined ? undefined : { fork, target };
  }

  /**
   * §16.6: forward the request to one target on a new client transaction, with its own branch
   * (`keepUdp`: over UDP whatever its size, the same branch as the TCP attempt it replaces).
   */
  private startFork(index: number, target: string, attempt = 0, keepUdp = false): void {
    const r = this.record;
    const hop = r.hops[target]![attempt]!;
    const { request: template, ...recordRoute } = outboundRequest(
      this.settings,
      storedMessage(forkTemplate(r)),
      r.recordRoute,
      hop,
    );
    const forwarded = forwardRequest(template, parseUri(target) as SipUri | TelUri, {
      config: this.settings.proxy,
      branch: forkBranch(r.id, loopHash(serverRequest(r)), index, attempt),
      ...recordRoute,
      outboundTransport: hop.transport,
      ...familyOf(hop.address),
      keepUdp,
    });
    const forkHop: Hop = { ...hop, transport: forwarded.transport };
    const created = createClientTransaction(
      forwarded.message,
      {
        reliable: reliable(forkHop),
        timerC: this.settings.timerC && template.method === 'INVITE',
        settings: this.settings.timers,
      },
      this.now,
    );
    // A previous attempt's transaction is replaced: its late responses no longer match (worker.ts).
    r.forks[index] = { tx: null, cancel: null, hop: forkHop, attempt, ...(keepUdp ? { udpRetry: true } : {}) };
    this.forkStep(index, created);
  }

  /**
   * §16.7 step 3 and 8: our Via removed, aggregated challenges added, sent on the server transaction
   * — from a hidden fork with the upstream side's Vias and Record-Routes back and the downstream
   * side's hidden (topology.ts).
   */
  private forwardUpstream(fork: number, response: SipMessage, addHeaders: [string, string][]): void {
    const r = this.record;
    const revealed =
      r.forks[fork]?.hop.hidden === true
        ? concealResponse(
            this.settings.routeTokens,
            this.settings.proxy,
            response,
            serverRequest(r),
            sideOf(r.origin.transport, r.origin.source.address),
          )
        : response;
    const forwarded = forwardResponse(revealed);
    if (forwarded === undefined) return;
    for (const [name, value] of addHeaders) forwarded.message.append(name, value);
    this.sendResponse(forwarded.message);
    this.dialogConfirmed(forwarded.message);
  }

  /** A 2xx to an initial INVITE we Record-Routed, forwarded upstream: a dialog we stay in (dialogs.ts). */
  private dialogConfirmed(response: SipMessage): void {
    const r = this.record;
    if (r.recordRoute === null || response.status < 200 || response.status >= 300) return;
    if (response.cseq.method !== 'INVITE' || response.to.tag === undefined) return;
    const request = serverRequest(r);
    if (request.to.tag !== undefined) return; // a re-INVITE: its dialog is open already
    this.effects.push({
      type: 'dialog-open',
      dialog: {
        id: dialogId(request.callId, request.from.tag, response.to.tag),
        callId: request.callId,
        caller: request.from.uri.toString(),
        callee: request.to.uri.toString(),
        startedAt: this.now,
      },
    });
  }

  /**
   * §9.1: a CANCEL with the fork's Request-URI, Call-ID, From, To, CSeq number, top Via and Route,
   * copied from the request its client transaction sent; none for a fork whose transaction ended.
   */
  private cancelFork(index: number): void {
    const fork = this.record.forks[index];
    if (fork === undefined || fork.cancel !== null || fork.tx === null) return;
    const cancel = buildCancel(storedMessage(fork.tx.request));
    const created = createClientTransaction(
      cancel,
      { reliable: reliable(fork.hop), settings: this.settings.timers },
      this.now,
    );
    this.cancelStep(index, created);
  }
}

function serverRequest(record: CallRecord): SipMessage {
  return storedMessage(record.server?.request ?? record.template ?? '');
}

/**
 * A message the record holds, as a copy the caller may change: checked (validate.ts) when it
 * arrived or was built, so parsed without validation, and once while it is used.
 */
function storedMessage(wire: string): SipMessage {
  let parsed = parsedStored.get(wire);
  if (parsed === undefined) {
    parsed = parseMessage(Buffer.from(wire, 'latin1'), { validate: false });
    parsedStored.set(wire, parsed);
  }
  return parsed.clone();
}

/** The request forks are built from (§16.6): the template, or the server transaction's request when it is that. */
function forkTemplate(record: CallRecord): string {
  const wire = record.template ?? record.server?.request;
  if (wire === undefined) throw new Error(`call ${record.id}: no request to fork from`);
  return wire;
}

/** Where the responses to `request` go (§18.2.2): its top Via's destination, else its source. */
function responseDestinationOf(request: SipMessage, origin: InboundMeta): { address: string; port: number } {
  const via = request.topVia;
  return via === undefined ? origin.source : responseDestination(via);
}

/**
 * Responses go back the way the request came (§18.2.2): its flow, else its Via destination — the
 * one stored with the record (`to`), or from the transaction's request.
 */
function responseHop(state: TransactionState, origin: InboundMeta, to?: { address: string; port: number }): Hop {
  const destination = to ?? responseDestinationOf(storedMessage(state.request), origin);
  const hop: Hop = {
    transport: origin.transport,
    address: destination.address,
    port: destination.port,
    edgeId: origin.edgeId,
  };
  if (origin.flowId !== undefined) hop.flowId = origin.flowId;
  return hop;
}
