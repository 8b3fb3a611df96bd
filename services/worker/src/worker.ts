import { hash } from 'node:crypto';
import type { Bus, BusHandler, Subscription } from '@sipedge/bus';
import {
  type InboundMeta,
  type LocalLink,
  type LocalWorker,
  ClockOffsets,
  QUEUES,
  SUBJECTS,
  decodeInbound,
  endpointAttributes,
  DEFAULT_OVERLOAD,
  type OverloadSettings,
  StandingDelay,
  shouldShed,
  sipAttributes,
  traceContextOf,
} from '@sipedge/handoff';
import { contextIdOfBranch, forwardResponse, isOurVia, parseOurBranch } from '@sipedge/proxy';
import {
  type SipMessage,
  SipParseError,
  buildResponse,
  hasStatelessToTag,
  parseMessage,
  statelessToTag,
} from '@sipedge/sip';
import type { DialogStore, EdgeRegistry, RecordStore } from '@sipedge/store';
import {
  type Attributes,
  type Logger,
  SpanKind,
  activeContext,
  currentTraceparent,
  inSpan,
  traceparentContext,
  withContext,
} from '@sipedge/telemetry';
import type { TimerFire, TimerService } from '@sipedge/timers';
import { cancelledInviteKey, cloneJson, serverKey } from '@sipedge/transaction';
import {
  type CallEvent,
  type Decision,
  type EngineResult,
  type EngineSettings,
  DECISION_TIMEOUT_T1,
  applyToCall,
  createCall,
  fireDueTimers,
} from './engine.js';
import { earliest } from './deadlines.js';
import { LocalTimers } from './local-timers.js';
import { type BlacklistSettings, SharedBlacklist } from './blacklist.js';
import { AdmissionQueue } from './admission.js';
import { type ShedReason, WorkerMetrics } from './metrics.js';
import { DispatcherProber, type ProbeSettings } from './probe.js';
import { CallStore, type Committed, idOfRecordKey } from './call-store.js';
import { EdgeDirectory } from './edge-directory.js';
import { WorkerPresence } from './presence.js';
import { EffectRunner } from './effects.js';
import { StatelessProxy } from './stateless.js';
import type { CallRecord, Hop } from './record.js';
import { type TuDeps, prepare } from './tu.js';

export interface WorkerDeps {
  bus: Bus;
  records: RecordStore;
  /** The live dialogs (dialog-stateful tracking). */
  dialogs: DialogStore;
  /** The live-edge registry: a message for an edge that is gone goes to any live edge instead. */
  edges?: EdgeRegistry;
  timers: TimerService;
  tu: TuDeps;
  logger: Logger;
  /** The fleet's bans as this worker sees them (kept in sync while the worker runs). */
  bans?: { start(): Promise<void>; stop(): Promise<void> };
  /**
   * Fault injection for tests: runs right after each commit, before its effects. A test makes it
   * never resolve to stand for a process that dies there (the record and its deadline are
   * committed, nothing was sent).
   */
  afterCommit?: (committed: Committed) => Promise<void>;
  /**
   * Called as each hand-off leaves the admission queue, to be worked on or refused: a standalone
   * worker thread counts them for its edge's overload control (@sipedge/sipedge thread-handoffs.ts).
   */
  handoffTaken?: () => void;
  /**
   * Standalone mode: the edge of this process hands messages to this worker by a call, and this
   * worker sends through it the same way, while both are attached (`LocalLink`).
   */
  link?: LocalLink;
}

export interface WorkerSettings extends EngineSettings {
  /** How long to wait for an edge to report a request's delivery. */
  deliveryTimeoutMs: number;
  /** How often the live-edge list is refreshed (when `edges` is given); default 1000 ms. */
  liveEdgesRefreshMs?: number;
  /**
   * How long a finished call record is kept (call-store.ts): at least the edges' hand-off replay
   * window (handoffReplayWindowMs), so that a hand-off retried after the message's transaction
   * ended is absorbed instead of handled as a new request. Default: that of the default settings.
   */
  finishedRecordKeepMs?: number;
  /**
   * How long after its due time a deadline's job runs (call-store.ts): this worker fires the
   * deadlines it commits on a local timer at their due time; the job, which any worker may take,
   * covers a worker that is gone. Default DEFAULT_DEADLINE_TAKEOVER_MS.
   */
  deadlineTakeoverMs?: number;
  /**
   * Stateless proxy (§16.11): no transactions and no records; each request goes to its first
   * target with a branch derived from the incoming one, so retransmissions, CANCEL and ACK follow
   * the INVITE; no 100 (Trying); responses go back by their Via. Default false.
   */
  stateless?: boolean;
  /** The shared connection blacklist (`blacklist.ts`). */
  blacklist?: BlacklistSettings;
  /** OPTIONS probing of dispatcher hops (when there are dispatcher sets); false turns it off. */
  probe?: ProbeSettings | false;
  /**
   * Overload control: a new initial request that waited longer than `maxDelayMs` between its edge
   * reading it and this worker taking it is shed with 503 (@sipedge/handoff overload.ts). Default off.
   */
  overload?: OverloadSettings;
  /** Messages worked on at once (the admission queue's places); default 128. */
  concurrency?: number;
  /**
   * How long an INVITE's routing may take to be committed with the call's creation (ms); default
   * QUICK_DECISION_MS. 0: every INVITE is taken first and routed after.
   */
  quickDecisionMs?: number;
}

/**
 * How long an INVITE's 100 Trying waits for its fork to be sent (`withheld`). §17.2.1 allows
 * 200 ms; a shorter wait keeps callers from retransmitting under load (measured: at twice the clean
 * rate, 200 ms cost a fifth of the completed calls to retransmissions, 50 ms none).
 */
const TRYING_WITHHELD_MS = 50;

/**
 * How long before a local timer fires the record is fetched when this worker no longer keeps it,
 * so that the fire does not wait for a round trip to a loaded Redis (docs/performance.md: the
 * deadlines' lateness at the clean rate).
 */
const PREFETCH_LEAD_MS = 50;

/**
 * How long an INVITE's routing may take to be committed with the call's creation, in one commit
 * (`request`): a decision that needs no slow lookup (an address, a registered user, a cached DNS
 * answer) comes within microseconds to a Redis round trip. One that takes longer (DNS, a loaded
 * location service) is taken first, its retransmissions absorbed, and routed after (§17.2.1).
 */
const QUICK_DECISION_MS = 10;

/**
 * A caller's INVITE retransmission this many T1 after its record was made, the decision still not
 * committed, means the worker routing it is gone (`decisionStalled`): past the caller's first two
 * retransmissions (at T1 and 3·T1, §17.1.1.2), which may cross a 100 Trying on its way.
 */
const STALLED_T1 = 4;

/** Records how late a timer of the kind fired (`WorkerMetrics.timerFired`). */
type MeasureFire = (timer: 'deadline' | 'retransmission', due: number, now: number) => void;

/** The span an event on an existing call record is traced in, parented to the record's stored trace. */
interface EventSpan {
  name: 'sip.request' | 'sip.response' | 'sip.timer';
  /** Computed only when the span records. */
  attributes: () => Attributes;
}

/** A hand-off's message: as the edge of this process parsed it, or parsed from the bus's bytes (throws SipParseError). */
function messageOf(received: SipMessage | Buffer): SipMessage {
  return Buffer.isBuffer(received) ? parseMessage(received) : received;
}

/** A context id from a server transaction key: token characters only, so it can sit in a branch. */
export function contextIdOf(key: string): string {
  return hash('sha1', key, 'base64url').slice(0, 16);
}

/**
 * A transaction worker: takes messages handed off by edges (queue group `workers`) and timer fires,
 * and for each one loads the call record, applies the event (engine.ts), commits the new record
 * with compare-and-set (retrying on a conflict with a fresh load) and only then performs the
 * effects (effects.ts): messages to edges, timers to schedule or cancel. Nothing a later event
 * needs stays in this process. With `stateless` set it keeps no records at all (stateless.ts).
 */
export class Worker implements LocalWorker {
  private subscription: Subscription | undefined;
  private detachLink: (() => void) | undefined;
  private readonly edges: EdgeDirectory;
  /** Its own subject and announcements, for the calls edges bind to it (call affinity). */
  private readonly presence: WorkerPresence;
  private readonly effects: EffectRunner;
  private readonly stateless: StatelessProxy;

  private readonly blacklist: SharedBlacklist;
  private readonly prober: DispatcherProber | undefined;
  /** The TU's dependencies, with the probed dispatcher health when there are dispatcher sets. */
  private readonly tu: TuDeps;
  /** The worker's metrics; `metrics.registry` is what its ops server serves on `/metrics`. */
  readonly metrics = new WorkerMetrics();
  private readonly calls: CallStore;
  /** The local timer of each record this worker committed a retransmission or deadline for. */
  private readonly localTimers = new LocalTimers(
    (id) => this.wake(id),
    (id) => {
      this.calls.prefetch(id).catch((error: unknown) => {
        // The fire loads it then.
        this.deps.logger.debug({ err: error, call: id }, 'record not prefetched');
      });
    },
    PREFETCH_LEAD_MS,
  );
  /** What this worker works on at once; the rest waits here, where overload control sees the wait. */
  private readonly admission: AdmissionQueue;
  /** How long messages waited between their edge and this worker, standing over a window (overload control). */
  private readonly handoffWaits = new StandingDelay();
  /** How long the latest hand-off taken had waited (ms). */
  private latestWait = 0;
  /** Each edge's clock against this worker's, as the least wait seen from it (hand-off waits). */
  private readonly clockOffsets = new ClockOffsets();

  constructor(
    private readonly settings: WorkerSettings,
    private readonly deps: WorkerDeps,
  ) {
    this.blacklist = new SharedBlacklist(deps.records, deps.logger, settings.blacklist);
    this.calls = new CallStore(deps.records, deps.timers, settings, this.metrics, deps.logger);
    this.admission = new AdmissionQueue(settings.concurrency);
    this.edges = new EdgeDirectory(deps.edges, deps.logger, settings.liveEdgesRefreshMs, deps.bus);
    this.presence = new WorkerPresence(deps.bus, deps.logger, (now) => this.backlogMs(now));
    this.metrics.observeDialogs(async () => (await deps.dialogs.list(0, Date.now())).total);
    this.effects = new EffectRunner(settings, {
      bus: deps.bus,
      edges: this.edges,
      calls: this.calls,
      blacklist: this.blacklist,
      dialogs: deps.dialogs,
      metrics: this.metrics,
      logger: deps.logger,
      forkUndelivered: (id, fork) => this.forkUndelivered(id, fork),
      ...(deps.link === undefined ? {} : { link: deps.link }),
    });
    const sets = Object.values(deps.tu.dispatchers ?? {});
    if (sets.length > 0 && settings.probe !== false) {
      const prober = new DispatcherProber(
        sets,
        settings.proxy,
        {
          records: deps.records,
          resolve: deps.tu.resolve,
          send: (wire, hop) => this.effects.send(wire, hop, 'request', null, true),
          logger: deps.logger,
        },
        settings.probe,
      );
      this.prober = prober;
      this.tu = { ...deps.tu, dispatchHealth: () => prober.health() };
    } else {
      this.tu = deps.tu;
    }
    this.stateless = new StatelessProxy(settings, {
      tu: this.tu,
      effects: this.effects,
      orderHops: (decision, now) => this.orderHops(decision, now),
    });
  }

  async start(): Promise<void> {
    await this.deps.bans?.start();
    await this.edges.start();
    const handOff: BusHandler = async (m) => {
      // A bad envelope throws: the edge's request gets the error, as for any failure here.
      const meta = decodeInbound(m.headers);
      // Copied: the bus's data may be a view of a larger read buffer, which a waiting hand-off
      // would keep. The edge's `sip.receive` span is the parent of what this message starts.
      const data = Buffer.from(m.data);
      await withContext(traceContextOf(m.headers), () => this.admit(data, meta));
      // Only a stream transport's hand-off waits for the acknowledgement (edge's `Handoff`).
      return meta.transport === 'udp' ? undefined : { data: new Uint8Array(0) };
    };
    this.subscription = await this.deps.bus.subscribe(SUBJECTS.inbound, handOff, { queue: QUEUES.workers });
    await this.presence.start(handOff);
    this.detachLink = this.deps.link?.attachWorker(this);
    await this.deps.timers.startWorker((fire) => this.fire(fire));
    this.prober?.start();
  }

  async stop(): Promise<void> {
    this.detachLink?.();
    this.localTimers.stop();
    this.prober?.stop();
    await this.presence.stop();
    await this.subscription?.unsubscribe();
    await this.edges.stop();
    await this.deps.timers.close();
    await this.deps.bans?.stop();
  }

  /**
   * One message an edge of this process received, as that edge parsed it (`LocalLink`): worked on
   * once the admission queue has a place for it, or refused at once when it is full. Resolves once
   * it is handled (over TCP/TLS that confirms the hand-off).
   */
  take(message: SipMessage, meta: InboundMeta): Promise<void> {
    return this.admit(message, meta);
  }

  /**
   * A hand-off through the admission queue: parsed already (`take`), or its bytes from the bus,
   * parsed only once it has a place or is refused, so that a full queue holds bytes.
   */
  private admit(received: SipMessage | Buffer, meta: InboundMeta): Promise<void> {
    return this.admission.run(
      () => {
        this.deps.handoffTaken?.();
        return this.inbound(received, meta);
      },
      () => {
        this.deps.handoffTaken?.();
        this.queueFull(received, meta);
      },
    );
  }

  private async inbound(received: SipMessage | Buffer, meta: InboundMeta): Promise<void> {
    try {
      const message = messageOf(received);
      const now = Date.now();
      this.metrics.handedOff(meta.receivedAt, now);
      const waited = this.handoffWait(meta, now);
      this.latestWait = waited;
      this.handoffWaits.observe(waited, now);
      if (this.isNewCall(message, meta) && this.isLate(waited, now)) {
        this.refuse(message, meta, 'late');
        return;
      }
      await (message.isResponse ? this.response(message) : this.request(message, meta));
    } catch (error) {
      if (error instanceof SipParseError) this.deps.logger.warn({ err: error.reason }, 'unparseable hand-off dropped');
      else {
        this.deps.logger.error({ err: error }, 'inbound message failed');
        throw error;
      }
    }
  }

  /**
   * Overload control (@sipedge/handoff overload.ts). Only a new call is ever refused: an initial
   * request that is not a retransmission (the edge marks those it handed off before) nor an edge's
   * retry of a hand-off (`redelivered`: a worker may have taken the call already and be slow to
   * confirm it). A request in a dialog, an ACK or CANCEL, and every response belong to calls
   * already taken.
   */
  private isNewCall(message: SipMessage, meta: InboundMeta): boolean {
    if (!message.isRequest || meta.retransmission === true || meta.redelivered === true) return false;
    return message.method !== 'ACK' && message.method !== 'CANCEL' && message.to.tag === undefined;
  }

  /**
   * Whether to refuse a new call that `waited` between its edge and now (hand-off and admission
   * queue): only while this worker is saturated, that is while messages wait for a place in the
   * admission queue, or while even the quickest hand-off of the last window waited above the limit
   * (the backlog is before the worker: a NATS subscription's, or the MessagePort of a standalone
   * worker thread). A burst it can take at once, or a pause shorter than the window (a garbage
   * collection, a slow hand-off), refuses nothing. Waits are judged above each edge's base
   * (`handoffWait`), so the edge's and the worker's clocks need not agree.
   */
  private isLate(waited: number, now: number): boolean {
    const overload = this.settings.overload;
    if (overload === undefined) return false;
    return this.saturated(now, overload) && shouldShed(waited, overload);
  }

  /**
   * How long a hand-off waited between its edge reading it and this worker starting on it, for
   * overload control: above the least wait seen from that edge lately (`ClockOffsets`), so that the
   * two hosts' clocks need not agree.
   */
  private handoffWait(meta: InboundMeta, now: number): number {
    const raw = now - meta.receivedAt;
    const overload = this.settings.overload;
    if (overload === undefined || overload.maxDelayMs <= 0) return raw;
    const notable = !this.saturated(now, overload);
    return this.clockOffsets.waited(meta.edgeId, raw, now, notable, overload.maxDelayMs);
  }

  private saturated(now: number, overload: OverloadSettings): boolean {
    return this.admission.waiting > 0 || this.handoffWaits.value(now) > overload.maxDelayMs;
  }

  /**
   * The backlog this worker reports to the edges (WorkerPresence), which shed the new calls bound to
   * it as it would (`isLate`) but before the hand-off: the latest hand-off's wait while saturated,
   * else 0; always 0 with overload control off.
   */
  private backlogMs(now: number): number {
    const overload = this.settings.overload;
    if (overload === undefined || overload.maxDelayMs <= 0) return 0;
    return this.saturated(now, overload) ? this.latestWait : 0;
  }

  /** A new call answered 503 with Retry-After at once, before it costs a record, a lookup or a deadline. */
  private refuse(message: SipMessage, meta: InboundMeta, reason: ShedReason): void {
    this.metrics.shed(reason);
    const response = buildResponse(message, 503, {
      headers: [
        ['Retry-After', String(this.settings.overload?.retryAfterSeconds ?? DEFAULT_OVERLOAD.retryAfterSeconds)],
      ],
      toTag: statelessToTag(message),
    });
    this.effects.sendLocalResponse(response, message, meta).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'overload 503 not sent');
    });
  }

  /**
   * The admission queue is full: a new call is refused with 503, anything else is dropped (a
   * retransmission comes again; a lost response is retransmitted by its sender).
   */
  private queueFull(received: SipMessage | Buffer, meta: InboundMeta): void {
    try {
      const message = messageOf(received);
      if (this.isNewCall(message, meta)) this.refuse(message, meta, 'queue-full');
      else this.metrics.shed('queue-full');
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'hand-off dropped: admission queue full');
    }
  }

  private async request(message: SipMessage, meta: InboundMeta): Promise<void> {
    const now = Date.now();
    if (this.settings.stateless === true) return this.stateless.proxy(message, meta, now);
    const span: EventSpan = { name: 'sip.request', attributes: () => sipAttributes(message, meta.transport) };
    if (message.method === 'CANCEL') {
      const id = contextIdOf(cancelledInviteKey(message));
      const handled = await this.update(
        id,
        (record) =>
          record === null ? null : applyToCall(record, { type: 'cancel', message, origin: meta }, now, this.settings),
        span,
      );
      if (!handled) await this.stateless.forward(message, meta);
      return;
    }
    const key = serverKey(message);
    const id = contextIdOf(key);
    if (message.method === 'ACK') {
      const handled = await this.update(
        id,
        (record) =>
          record?.server?.key === key ? applyToCall(record, { type: 'request', message }, now, this.settings) : null,
        span,
      );
      // The ACK of a response we sent statelessly (a challenge) ends here; an ACK for a 2xx is its
      // own transaction, forwarded statelessly end to end (§16.7 step 5).
      if (!handled && !hasStatelessToTag(message)) await this.stateless.forward(message, meta);
      return;
    }
    const event: CallEvent = { type: 'request', message, ...(meta.redelivered === true ? { redelivered: true } : {}) };
    const apply = (record: CallRecord | null, at: number) =>
      record === null ? null : applyToCall(record, event, at, this.settings);
    const absorbed = await this.commit(id, (record) => apply(record, now), span);
    if (absorbed !== undefined) {
      await absorbed.perform();
      const record = absorbed.committed.result.record;
      if (this.decisionStalled(record, meta, Date.now())) await this.decideAgain(id, message, meta);
      return;
    }
    const attributes = () => ({ ...span.attributes(), ...endpointAttributes('client', meta.source) });
    await inSpan('sip.server_transaction', { kind: SpanKind.SERVER, attributes }, async () => {
      const prepared = await prepare(message, meta, this.tu, now);
      let quick: Decision | undefined;
      if (prepared.kind === 'route' && message.method === 'INVITE') {
        const routing = this.routed(prepared.route);
        quick = await decidedWithin(routing, this.settings.quickDecisionMs ?? QUICK_DECISION_MS);
        if (quick === undefined) return this.takeThenDecide(id, message, meta, apply, () => routing, span);
      }
      const decision =
        quick ??
        (prepared.kind === 'decided'
          ? await this.orderHops(prepared.decision, now)
          : await this.routed(prepared.route));
      if (decision.kind === 'ignore') return;
      this.effects.keepOpen(decision, meta);
      if (decision.kind === 'respond' && decision.stateless === true) {
        await this.effects.sendLocalResponse(decision.response, message, meta);
        return;
      }
      await this.update(
        id,
        (record) =>
          apply(record, Date.now()) ?? this.created(createCall(id, message, meta, decision, Date.now(), this.settings)),
        span,
      );
    });
  }

  /**
   * §17.2.1: an INVITE whose routing is slow is taken first (its retransmissions absorbed by its
   * server transaction), then routed; the record waits for the decision.
   */
  private async takeThenDecide(
    id: string,
    message: SipMessage,
    meta: InboundMeta,
    apply: (record: CallRecord | null, at: number) => EngineResult | null,
    route: () => Promise<Decision>,
    span: EventSpan,
  ): Promise<void> {
    let created = false;
    const taken = await this.commit(
      id,
      (record) => {
        created = record === null;
        return (
          apply(record, Date.now()) ?? this.created(createCall(id, message, meta, null, Date.now(), this.settings))
        );
      },
      span,
    );
    if (taken === undefined) return;
    if (!created) return taken.perform();
    await this.decide(id, route, this.withheld(taken.perform));
  }

  /**
   * Routes a record created without a decision and commits the decision (its effects, the forks,
   * run in the current span). If another worker decided first, the record has no decision due and
   * this one is dropped. `trying`: the 100 Trying of the record's creation, withheld until the
   * forks are sent (`withheld`), or sent before the decision's own answer to the caller.
   */
  private async decide(id: string, route: () => Promise<Decision>, trying?: () => Promise<void>): Promise<void> {
    try {
      const decision = await route();
      const decided = await this.commit(id, (record) =>
        record?.decisionDue !== undefined
          ? applyToCall(record, { type: 'decision', decision }, Date.now(), this.settings)
          : null,
      );
      const answers = decided?.committed.result.effects.some((e) => e.type === 'send' && e.kind === 'response');
      if (answers === true) await trying?.();
      await decided?.perform();
    } finally {
      await trying?.();
    }
  }

  /**
   * The effects of an INVITE's creation (its 100 Trying) withheld while it is routed, for at most
   * `TRYING_WITHHELD_MS` (§17.2.1: one is needed only when the TU will not answer within 200 ms). A caller
   * over UDP retransmits its INVITE until it has a provisional response (§17.1.1.2): if this
   * worker dies before the fork is sent, the retransmission brings the call to another worker
   * (`decisionStalled`); had the 100 gone first, the caller would wait silently for Timer B.
   * Returns a function that sends them now, once.
   */
  private withheld(perform: () => Promise<void>): () => Promise<void> {
    let sent: Promise<void> | undefined;
    const send = () => (sent ??= perform());
    const timer = setTimeout(() => void send(), TRYING_WITHHELD_MS);
    timer.unref();
    return () => {
      clearTimeout(timer);
      return send();
    };
  }

  /**
   * A request absorbed by a record that still waits for its routing decision, when the worker that
   * took it may be gone: an edge's retry of the hand-off (`redelivered`), or a retransmission of the
   * caller's `STALLED_T1`·T1 or more after the record was made. A caller retransmits only while it
   * has no provisional response (§17.1.1.2), and a live worker sends the 100 Trying within
   * `TRYING_WITHHELD_MS` (`withheld`), so retransmissions that long after mean that no 100 reached the caller: the taker
   * died (or the 100 was lost, and routing the call twice costs only a lookup: the first decision
   * committed wins).
   */
  private decisionStalled(record: CallRecord, meta: InboundMeta, now: number): boolean {
    if (record.decisionDue === undefined) return false;
    const t1 = this.settings.timers.t1;
    const madeAt = record.decisionDue - DECISION_TIMEOUT_T1 * t1;
    return meta.redelivered === true || now >= madeAt + STALLED_T1 * t1;
  }

  /** Routes a call whose decision stalled (`decisionStalled`) here too; the first decision committed wins. */
  private async decideAgain(id: string, message: SipMessage, meta: InboundMeta): Promise<void> {
    const prepared = await prepare(message, meta, this.tu, Date.now());
    if (prepared.kind === 'route') await this.decide(id, () => this.routed(prepared.route));
  }

  /** A new call record carries the trace of its server transaction, which later events (any worker's) join. */
  private created(result: EngineResult): EngineResult {
    const trace = currentTraceparent();
    if (trace !== undefined) result.record.trace = trace;
    return result;
  }

  private async response(message: SipMessage): Promise<void> {
    const via = message.topVia;
    if (via === undefined || !isOurVia(via, this.settings.proxy)) return;
    if (this.prober !== undefined && (await this.prober.answered(message))) return;
    const branch = parseOurBranch(via.branch ?? '');
    const id = via.branch === undefined ? undefined : contextIdOfBranch(via.branch);
    if (branch?.kind === 'fork' && id !== undefined) {
      const fork = branch.forkIndex;
      // §17.1.3: the fork's INVITE transaction, or its CANCEL's for a response with CSeq CANCEL.
      const isCancel = message.cseq.method === 'CANCEL';
      const span: EventSpan = {
        name: 'sip.response',
        attributes: () => ({ ...sipAttributes(message), 'sip.fork_index': fork }),
      };
      const handled = await this.update(
        id,
        (record) => {
          const target = isCancel ? record?.forks[fork]?.cancel : record?.forks[fork]?.tx;
          return record === null || target == null || record.forks[fork]?.attempt !== branch.attempt
            ? null
            : applyToCall(record, { type: 'response', fork, message }, Date.now(), this.settings);
        },
        span,
      );
      if (handled) return;
      // A late response to an earlier attempt of a fork that has moved on (§16.6 step 7), or to a fork whose
      // transaction ended: ours, but finished — except a 2xx to an INVITE, which is forwarded
      // whenever it comes, so that the caller ACKs it and the callee stops retransmitting (§16.7 step 5).
      const invite2xx = message.cseq.method === 'INVITE' && message.status >= 200 && message.status < 300;
      if (!invite2xx && (branch.attempt > 0 || (await this.hasRecord(id)))) return;
    }
    // No context (a late 2xx, a stateless branch): forward statelessly to the next Via (§16.7, §16.11).
    const forwarded = forwardResponse(message);
    if (forwarded === undefined) return;
    const transport = forwarded.via.transport.toLowerCase() as Hop['transport'];
    await this.effects.send(forwarded.message.toBuffer(), { transport, ...forwarded.destination }, 'response', null);
  }

  /**
   * A record's deadline job fired (on whichever worker, `deadlineTakeoverMs` after its due time:
   * the local timer of the worker that committed it did not fire it first): its due timers fire,
   * and the next is armed.
   */
  private async fire({ key, seq }: TimerFire): Promise<void> {
    const id = idOfRecordKey(key);
    if (id === undefined) return;
    const measure = this.measureOnce();
    await this.update(
      id,
      (record) => {
        // A deadline the record has replaced (moved on, or ended) is stale.
        if (record?.deadline?.seq !== seq) return null;
        measure('deadline', record.deadline.due, Date.now());
        return fireDueTimers(record, Date.now(), this.settings) ?? { record: cloneJson(record), effects: [] };
      },
      { name: 'sip.timer', attributes: () => ({ 'sip.deadline_seq': seq }) },
      seq,
    );
  }

  /**
   * The record's local timer fired (`wakeAt`): whatever of the record is due fires (deadlines.ts).
   * A deadline fired here is replaced by the next before its job runs (call-store.ts), so the job,
   * `deadlineTakeoverMs` later, fires only for a worker that is gone. A local fire that fails is
   * logged: the job covers it.
   */
  private wake(id: string): void {
    const measure = this.measureOnce();
    this.update(id, (record) => this.fireLocally(record, measure), {
      name: 'sip.timer',
      attributes: () => ({ 'sip.local': true }),
    }).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, call: id }, 'local timer failed');
    });
  }

  /**
   * What the record's local timer does: fires its due timers. A deadline that is due and finds
   * nothing to fire (it was left earlier than the record's timers) is re-armed all the same, as its
   * job would be.
   */
  private fireLocally(record: CallRecord | null, measure: MeasureFire): EngineResult | null {
    if (record === null) return null;
    const now = Date.now();
    const retransmit = earliest(record, 'retransmit');
    if (retransmit !== null && retransmit <= now) measure('retransmission', retransmit, now);
    const deadline = record.deadline !== undefined && record.deadline.due <= now ? record.deadline : undefined;
    if (deadline !== undefined) measure('deadline', deadline.due, now);
    const fired = fireDueTimers(record, now, this.settings);
    return fired ?? (deadline === undefined ? null : { record: cloneJson(record), effects: [] });
  }

  /**
   * Records a fire's lateness once per kind of timer, though its event may be applied again (a
   * commit that met a conflict): the first application is when it fired.
   */
  private measureOnce(): MeasureFire {
    const measured = new Set<string>();
    return (timer, due, now) => {
      if (measured.has(timer)) return;
      measured.add(timer);
      this.metrics.timerFired(timer, due, now);
    };
  }

  /** The TU's routing decision, its hops in the order to try. */
  private async routed(route: () => Promise<Decision>): Promise<Decision> {
    const decision = await route();
    return this.orderHops(decision, Date.now());
  }

  /** Each target's hops with the blacklisted tuples last. */
  private async orderHops(decision: Decision, now: number): Promise<Decision> {
    if (decision.kind !== 'proxy') return decision;
    const targets = await Promise.all(
      decision.targets.map(async (target) => ({ ...target, hops: await this.blacklist.order(target.hops, now) })),
    );
    return { ...decision, targets };
  }

  private async hasRecord(id: string): Promise<boolean> {
    return (await this.calls.load(id)) !== null;
  }

  /**
   * Load → apply → compare-and-set commit with the record's deadline armed (call-store.ts); effects
   * only after the commit. `apply` returns null when the record does not take this event. Returns
   * whether it was taken. The effects of an event on an existing record run in `span`, a child of
   * the record's trace linked to the message's own (so a timer fired by another worker joins the
   * call's trace). `firing`: the deadline job firing now (see CallStore.update).
   */
  private async update(
    id: string,
    apply: (record: CallRecord | null) => EngineResult | null,
    span?: EventSpan,
    firing?: number,
  ): Promise<boolean> {
    const done = await this.commit(id, apply, span, firing);
    await done?.perform();
    return done !== undefined;
  }

  /**
   * `update` up to its effects: what was committed, and the effects to perform (by the caller,
   * when it chooses); undefined when the record did not take the event.
   */
  private async commit(
    id: string,
    apply: (record: CallRecord | null) => EngineResult | null,
    span?: EventSpan,
    firing?: number,
  ): Promise<{ committed: Committed; perform: () => Promise<void> } | undefined> {
    const committed = await this.calls.update(id, apply, firing);
    if (committed === null) return undefined;
    const { before, result } = committed;
    if (before === null) this.metrics.transactionOpened();
    if (committed.endedNow) this.metrics.transactionFinished(result.record.origin.receivedAt, Date.now());
    await this.deps.afterCommit?.(committed);
    this.localTimers.set(id, committed.wakeAt);
    const run = () => this.effects.perform(committed);
    const trace = before?.trace;
    const perform =
      span === undefined || trace === undefined
        ? run
        : () =>
            inSpan(
              span.name,
              { parent: traceparentContext(trace), links: [activeContext()], attributes: span.attributes },
              run,
            );
    return { committed, perform };
  }

  /** A fork's request that no edge took: its transport error (§16.9), applied as an event. */
  private async forkUndelivered(id: string, fork: number): Promise<void> {
    await this.update(id, (r) =>
      r?.forks[fork]?.tx != null ? applyToCall(r, { type: 'transport-error', fork }, Date.now(), this.settings) : null,
    );
  }
}

/**
 * The decision `routing` comes to within `ms`, or undefined when it takes longer or fails (a
 * failure is then the slow path's: the call is taken, and its decision timer answers it).
 */
async function decidedWithin(routing: Promise<Decision>, ms: number): Promise<Decision | undefined> {
  if (ms <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([routing.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
