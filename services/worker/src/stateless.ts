import type { InboundMeta } from '@sipedge/handoff';
import {
  type ForwardedRequest,
  type ViaOptions,
  concealRequest,
  dialogRoute,
  hidesTopology,
  finishForward,
  forwardRequest,
  isAddressedToSelf,
  prepareForward,
  preprocessRoutes,
  statelessBranch,
  validateRequest,
} from '@sipedge/proxy';
import { type SipMessage, type SipUri, buildResponse, hasStatelessToTag, parseUri, statelessToTag } from '@sipedge/sip';
import type { EffectRunner } from './effects.js';
import { type Decision, type EngineSettings, familyOf, recordRouteFor, requestForHop, sideOf } from './engine.js';
import type { Hop } from './record.js';
import { type TuDeps, arrivalOf, decide, hopOfFlow } from './tu.js';

export interface StatelessDeps {
  /** The TU's dependencies (tu.ts). */
  tu: TuDeps;
  /** Where forwarded requests and local responses are sent. */
  effects: EffectRunner;
  /** Each target's hops with the blacklisted tuples last. */
  orderHops: (decision: Decision, now: number) => Promise<Decision>;
}

/**
 * Forwarding without state (§16.11): no transaction and no record; a request goes to one next hop
 * with a branch derived from the incoming one (`statelessBranch`), so a retransmission, and a
 * CANCEL, take the same next hop; a local answer carries `statelessToTag`. `proxy` is the whole of
 * stateless mode (`WorkerSettings.stateless`, §16.11); `forward` is also what a stateful worker does
 * with a request no record takes (a 2xx ACK, a CANCEL without context).
 */
export class StatelessProxy {
  constructor(
    private readonly settings: Pick<EngineSettings, 'proxy' | 'routeTokens'>,
    private readonly deps: StatelessDeps,
  ) {}

  /** §16.11 for every request: decide, then forward to the first target (or answer) without state. */
  async proxy(message: SipMessage, meta: InboundMeta, now: number): Promise<void> {
    if (message.method === 'ACK' && hasStatelessToTag(message)) return;
    // A CANCEL takes the INVITE's route (location lookup included) and, since the branch does not
    // depend on the method, the INVITE's branch (§16.11: it must reach the same next hop).
    if (message.method === 'ACK') return this.forward(message, meta);
    const decision = await this.deps.orderHops(
      await decide(message, meta, { ...this.deps.tu, statelessResponses: true }, now),
      now,
    );
    if (decision.kind === 'ignore') return;
    this.deps.effects.keepOpen(decision, meta);
    if (decision.kind === 'respond') return this.deps.effects.sendLocalResponse(decision.response, message, meta);
    const [target] = decision.targets;
    const hop = target?.hops[0];
    if (target === undefined || hop === undefined) return;
    const forwarded = forwardRequest(requestForHop(decision.template, hop), parseUri(target.uri) as SipUri, {
      ...this.viaOptions(message, hop),
      ...recordRouteFor(this.settings.routeTokens, decision.template, decision.recordRoute, hop),
    });
    await this.send(forwarded, hop, meta);
  }

  /** §16.11: forward without state (2xx ACK, CANCEL without context): route, new deterministic branch. */
  async forward(message: SipMessage, meta: InboundMeta): Promise<void> {
    // §16.3 as for every request forwarded (e.g. an ACK with Max-Forwards 0, a Route that is not a
    // SIP URI): an ACK that fails it is dropped (§17), a CANCEL answered.
    const valid = validateRequest(message, this.settings.proxy);
    if (!valid.ok) {
      if (message.method === 'CANCEL') {
        const { status, reason, headers } = valid;
        const response = buildResponse(message, status, { reason, headers, toTag: statelessToTag(message) });
        await this.deps.effects.sendLocalResponse(response, message, meta);
      }
      return;
    }
    const preprocessed = preprocessRoutes(message, this.settings.proxy, {
      transport: meta.transport,
      port: meta.local.port,
    });
    const tu = this.deps.tu;
    const dialog = dialogRoute(tu.routeTokens, message, preprocessed, tu.proxy, arrivalOf(meta));
    // Not when we are the UAS (§8.2), and no open relay: from an untrusted source only a request of a
    // dialog we serve (a 2xx ACK with our Record-Routes' tokens) is forwarded.
    const forward =
      !isAddressedToSelf(message, this.settings.proxy) && (dialog !== undefined || tu.isTrusted(meta.source.address));
    if (!forward) {
      // An unmatched CANCEL gets 481 (§9.2), as a UAS answers it; an unmatched ACK is dropped (§17.2.3).
      if (message.method === 'CANCEL') {
        const response = buildResponse(message, 481, { toTag: statelessToTag(message) });
        await this.deps.effects.sendLocalResponse(response, message, meta);
      }
      return;
    }
    const request = dialog?.request ?? preprocessed.request;
    const target = request.requestUri;
    if (target.kind !== 'sip') return;
    // Inside a dialog whose other side has a flow, on that flow (RFC 5626 §5.3); else by the route.
    const flow = dialog?.flow === undefined ? undefined : hopOfFlow(dialog.flow);
    const prepared = prepareForward(request, target as SipUri, { config: this.settings.proxy, recordRoute: false });
    const [hop] = flow === undefined ? await tu.resolve(prepared.nextHop) : [flow];
    if (hop === undefined) return;
    // Topology hiding (topology.ts): a 2xx ACK gets no response, so its Vias go too; a CANCEL's
    // response goes back by them.
    const hidden =
      message.method === 'ACK' && hidesTopology(tu.topologyHiding, tu.isTrusted, meta.source.address, hop.address);
    const outbound = hidden
      ? {
          ...prepared,
          message: concealRequest(tu.routeTokens, tu.proxy, prepared.message, sideOf(hop.transport, hop.address))
            .request,
        }
      : prepared;
    await this.send(finishForward(outbound, this.viaOptions(message, hop)), hop, meta);
  }

  /** Our Via on a request forwarded on `hop`: the branch derived from the incoming one (`statelessBranch`). */
  private viaOptions(message: SipMessage, hop: Hop): ViaOptions {
    return {
      config: this.settings.proxy,
      branch: statelessBranch(message),
      outboundTransport: hop.transport,
      ...familyOf(hop.address),
    };
  }

  /** Sends a forwarded request to `hop` on the transport its Via names. */
  private async send(forwarded: ForwardedRequest, hop: Hop, meta: InboundMeta): Promise<void> {
    await this.deps.effects.send(
      forwarded.message.toBuffer(),
      { ...hop, transport: forwarded.transport },
      'request',
      meta,
    );
  }
}
