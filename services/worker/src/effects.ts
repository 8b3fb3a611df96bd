import type { Bus } from '@sipedge/bus';
import {
  H,
  type InboundMeta,
  type LocalEdge,
  type LocalLink,
  type OutboundMeta,
  SUBJECTS,
  encodeOutbound,
  endpointAttributes,
  sipAttributes,
  transportAttributes,
} from '@sipedge/handoff';
import { type SipMessage, parseMessage, responseDestination } from '@sipedge/sip';
import type { DialogStore } from '@sipedge/store';
import { type Logger, SpanKind, inSpan } from '@sipedge/telemetry';
import type { SharedBlacklist } from './blacklist.js';
import type { CallStore, Committed } from './call-store.js';
import { DIALOG_LIFETIME_MS } from './dialogs.js';
import type { EdgeDirectory } from './edge-directory.js';
import type { Decision, Effect } from './engine.js';
import type { WorkerMetrics } from './metrics.js';
import type { CallRecord, Hop } from './record.js';

export interface EffectDeps {
  bus: Bus;
  /** Which edges are live: a message for an edge that is gone goes to any live edge. */
  edges: EdgeDirectory;
  /** Where a deadline job the committed record no longer needs is disarmed. */
  calls: CallStore;
  /** Where `hop-health` effects go (the connection blacklist). */
  blacklist: SharedBlacklist;
  /** Where `dialog-open` and `dialog-close` effects go (dialogs.ts). */
  dialogs: DialogStore;
  metrics: WorkerMetrics;
  logger: Logger;
  /** A fork's request that no edge took: applies it as that fork's transport error (§16.9), an event. */
  forkUndelivered: (id: string, fork: number) => Promise<void>;
  /** The edge of this process, sent through by a call while it is attached (standalone mode). */
  link?: LocalLink;
}

/**
 * What a worker does after a commit, and everything it sends: the effects of a committed event
 * (messages to edges, hop health, a deadline to disarm), responses answered without a transaction
 * (§18.2.2) and NAT keep-alive requests, all published on the bus for an edge to send.
 */
export class EffectRunner {
  constructor(
    private readonly settings: { deliveryTimeoutMs: number },
    private readonly deps: EffectDeps,
  ) {}

  /**
   * The effects of a committed event. Responses to the upstream go out first, one after the other,
   * so that one call's responses leave in the order their events committed: a 180 whose timer work
   * (Timer C restart, Timer A/B cancel) waits on Redis must not reach the caller after the 200 of
   * the next event (§16.7 step 5 forwards provisional responses only until the final one). The
   * rest then runs together. Each effect stands alone: one that fails is logged and counted and
   * the others still run; a fork's request that could not be handed to an edge is that fork's
   * transport error (§16.7 step 1, §16.9), an event of its own.
   */
  async perform({ key, result, disarm }: Committed): Promise<void> {
    const { record, effects } = result;
    const upstream = (e: Effect) => e.type === 'send' && e.kind === 'response';
    for (const effect of effects.filter(upstream)) await this.performOne(record, effect);
    await Promise.all([
      ...effects.filter((e) => !upstream(e)).map((effect) => this.performOne(record, effect)),
      ...(disarm === undefined ? [] : [this.deps.calls.disarm(key, disarm)]),
    ]);
  }

  private async performOne(record: CallRecord, effect: Effect): Promise<void> {
    try {
      if (effect.type === 'hop-health') {
        if (effect.ok) await this.deps.blacklist.answered(effect.hop, Date.now());
        else await this.deps.blacklist.failed(effect.hop, Date.now());
      } else if (effect.type === 'dialog-open') {
        await this.deps.metrics.redis('dialog', () =>
          this.deps.dialogs.open(effect.dialog, Date.now() + DIALOG_LIFETIME_MS),
        );
      } else if (effect.type === 'dialog-close') {
        await this.deps.metrics.redis('dialog', () => this.deps.dialogs.close(effect.id));
      } else {
        const report = effect.fork;
        const send = () => this.send(effect.wire, effect.hop, effect.kind, record.origin, report !== undefined);
        const delivered =
          report === undefined
            ? await send()
            : await this.clientTransaction(effect.wire, effect.hop, report, send).catch((error: unknown) => {
                this.effectFailed(record, effect, error);
                return false;
              });
        if (!delivered && report !== undefined) await this.deps.forkUndelivered(record.id, report);
      }
    } catch (error) {
      this.effectFailed(record, effect, error);
    }
  }

  private effectFailed(record: CallRecord, effect: Effect, error: unknown): void {
    this.deps.metrics.effectFailed(effect.type);
    this.deps.logger.warn({ err: error, call: record.id, effect: effect.type }, 'effect failed');
  }

  /** A fork's request sent in a `sip.client_transaction` span (the edge's `sip.send` is its child). */
  private clientTransaction(wire: Buffer, hop: Hop, fork: number, send: () => Promise<boolean>): Promise<boolean> {
    const attributes = () => ({
      'sip.fork_index': fork,
      ...transportAttributes(hop.transport),
      ...endpointAttributes('server', hop),
      ...sipAttributes(parseMessage(wire)),
    });
    return inSpan('sip.client_transaction', { kind: SpanKind.CLIENT, attributes }, send);
  }

  /** A response the worker answers without a transaction: back to the request's Via (§18.2.2), on its flow. */
  async sendLocalResponse(response: SipMessage, request: SipMessage, meta: InboundMeta): Promise<void> {
    const to = responseDestination(request.topVia!);
    const hop: Hop = {
      transport: meta.transport,
      ...to,
      ...(meta.flowId === undefined ? {} : { flowId: meta.flowId }),
    };
    await this.send(response.toBuffer(), hop, 'response', meta);
  }

  /** Asks the edge that received a REGISTER from behind a NAT to keep its binding open (best effort). */
  keepOpen(decision: Decision, meta: InboundMeta): void {
    if (decision.kind !== 'respond' || decision.keepalive === undefined) return;
    const data = Buffer.from(JSON.stringify(decision.keepalive), 'utf8');
    this.deps.bus.publish(SUBJECTS.edgeKeepalive(meta.edgeId), data).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'nat keep-alive request not published');
    });
  }

  /**
   * Publishes a message for an edge: the edge holding the flow, else the edge the request came in
   * on, else (or when that edge has no current heartbeat) any live edge (`sipedge.out`). With
   * `report`, waits for the edge's delivery result.
   */
  async send(
    wire: Buffer,
    hop: Hop,
    kind: 'request' | 'response',
    origin: InboundMeta | null,
    report = false,
  ): Promise<boolean> {
    let edgeId = hop.edgeId ?? origin?.edgeId;
    let flowId = hop.flowId;
    if (edgeId !== undefined && !(await this.deps.edges.isLiveEdge(edgeId))) {
      // The edge is gone, and its connections with it: any live edge sends it (a response over a
      // new connection, §18.2.2; a request on a flow that is gone is reported back, §16.9).
      edgeId = undefined;
      if (kind === 'response') flowId = undefined;
    }
    const meta: OutboundMeta = {
      transport: hop.transport,
      destination: { address: hop.address, port: hop.port },
      kind,
      ...(flowId === undefined ? {} : { flowId }),
    };
    const local = this.deps.link?.edge(edgeId);
    if (local !== undefined) return this.sendLocal(local, wire, meta, report && hop.transport !== 'udp');
    const subject = edgeId === undefined ? SUBJECTS.anyEdgeOutbound : SUBJECTS.edgeOutbound(edgeId);
    const headers = encodeOutbound(meta);
    if (!report || hop.transport === 'udp') {
      await this.deps.bus.publish(subject, wire, headers);
      return true;
    }
    try {
      const reply = await this.deps.bus.request(subject, wire, { timeoutMs: this.settings.deliveryTimeoutMs, headers });
      return reply.headers[H.deliveryError] === undefined;
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'delivery not confirmed');
      return false;
    }
  }

  /**
   * Through the edge of this process (`LocalLink`). As over the bus, only a `report` waits for the
   * delivery (the edge logs a failure either way): the others are handed on in order and not
   * waited for, so that a response needing a new connection holds up nothing behind it.
   */
  private async sendLocal(edge: LocalEdge, wire: Buffer, meta: OutboundMeta, report: boolean): Promise<boolean> {
    const sent = edge.send(wire, meta).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'the edge of this process did not send a message');
      return { ok: false } as const;
    });
    if (!report) return true;
    return (await sent).ok;
  }
}
