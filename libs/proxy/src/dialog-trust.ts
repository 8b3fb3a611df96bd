import { type SipMessage, type Transport, type Uri, parseNameAddr, parseUri } from '@sipedge/sip';
import { type AddressFamily, type RecordRouteSide, addressFamily } from './forward.js';
import { type PreprocessedRequest, type RouteAction, isOurRecordRouteUri } from './route.js';
import type { SelfConfig } from './self.js';
import {
  type RouteTokenContent,
  type RouteTokenKeys,
  type TokenFlow,
  dialogBinding,
  openRouteToken,
  sealRouteToken,
  signRouteToken,
} from './route-token.js';
import { unmaskedContact } from './topology.js';

/**
 * Which requests belong to a dialog this proxy serves (§12, §16.4), and how its requests reach
 * each side. Only a request with a To tag is inside a dialog (§12.2), and the dialogs this proxy
 * serves are those it Record-Routed: their requests come back with our Record-Route URIs as their
 * top Routes (or, after a strict router, as their Request-URI). Those URIs carry tokens bound to
 * the dialog, so a Route naming us, a made-up To tag, or a Record-Route copied from another call
 * is not taken for a dialog: such a request is an initial one (authentication and the no-relay
 * rule apply).
 *
 * A token is bound to the Call-ID and the From tag of the request that created the dialog: the To
 * tag is not known when the Record-Route is inserted. Every later request of the dialog carries
 * that tag as its From tag (sent by the caller, §12.2.1.1) or as its To tag (sent by the callee,
 * whose From and To are the other way round).
 *
 * The proxy Record-Routes twice (RFC 5658): the URI on top faces the downstream side (the callee),
 * the one below it the upstream side (the caller), each with the transport its side reaches us on
 * and a token naming that side's flow — the connection or the NAT binding its requests came from
 * (RFC 5626 §5.2, §5.3). A request of the dialog consumes both; it is sent on the flow the last of
 * them names (the other side's), unless it came on that flow itself.
 *
 * Under topology hiding (topology.ts) both tokens are sealed, and the last one a request takes also
 * carries the route set beyond it that the sender was not shown: it is restored as the request's
 * next Routes, and a Request-URI that is one of our masked Contacts becomes that Contact again.
 */

/** One side of a dialog as the proxy saw it: the transport it reaches us on, and its flow when it has one. */
export interface DialogSide {
  transport: Transport;
  flow?: TokenFlow;
  /**
   * The Route values beyond us towards this side that the other side is not to see (topology
   * hiding): carried in this side's sealed token, restored on the requests sent to this side.
   */
  routes?: readonly string[];
  /** The family of its peer's address (default: its flow's). */
  family?: AddressFamily;
}

/** Where a request came from, to tell whether it came on a flow a token names. */
export interface Arrival {
  transport: string;
  address: string;
  port: number;
  flowId?: string;
}

/** The tokens of a double Record-Route (RFC 5658) for a request that may create a dialog (§16.6 step 4). */
export function dialogRecordRoute(
  keys: RouteTokenKeys,
  request: SipMessage,
  sides: { downstream: DialogSide; upstream: DialogSide; sealed?: boolean },
): { downstream: RecordRouteSide; upstream: RecordRouteSide } {
  const binding = dialogBinding(request.callId, request.from.tag);
  const side = ({ transport, flow, family, routes }: DialogSide): RecordRouteSide => {
    const peer = family ?? (flow === undefined ? undefined : addressFamily(flow.address));
    const content = {
      ...(flow === undefined ? {} : { flow }),
      ...(routes === undefined || routes.length === 0 ? {} : { routes }),
    };
    return {
      transport,
      token: sides.sealed === true ? sealRouteToken(keys, content, binding) : signRouteToken(keys, content, binding),
      ...(peer === undefined ? {} : { family: peer }),
    };
  };
  return { downstream: side(sides.downstream), upstream: side(sides.upstream) };
}

/** The token for a single Record-Route of a request that may create a dialog (no flows). */
export function dialogRouteToken(keys: RouteTokenKeys, request: SipMessage, content: RouteTokenContent = {}): string {
  return signRouteToken(keys, content, dialogBinding(request.callId, request.from.tag));
}

/**
 * A request inside a dialog this proxy serves: it has a To tag, and every Record-Route URI of ours
 * it carried as a Route verifies for its Call-ID and its From or To tag — the one route
 * pre-processing consumed (§16.4: the top Route, or a strict router's Request-URI) and the one of
 * a double Record-Route right below it, which is consumed here. Returns the request without them
 * and the flow to send it on (see above), or undefined when the request is not inside such a
 * dialog. What topology hiding took from the sender's view is put back: the routes the last token
 * carries on top of its Route set, and the Contact a masked Request-URI stands for.
 */
export function dialogRoute(
  keys: RouteTokenKeys,
  request: SipMessage,
  preprocessed: PreprocessedRequest,
  config: SelfConfig,
  arrival: Arrival,
): { request: SipMessage; flow?: TokenFlow } | undefined {
  const to = request.to.tag;
  if (to === undefined) return undefined;
  const { callId } = request;
  const bindings = [dialogBinding(callId, request.from.tag), dialogBinding(callId, to)];
  const open = (uri: Uri | undefined): RouteTokenContent | undefined =>
    uri === undefined || uri.kind !== 'sip' || uri.user === null || !isOurRecordRouteUri(uri, config)
      ? undefined
      : openRouteToken(keys, uri.user, bindings);
  const first = open(consumedRecordRoute(preprocessed.actions));
  if (first === undefined) return undefined;
  let routed = preprocessed.request;
  let last = first;
  const below = routed.routes[0]?.uri;
  if (below !== undefined && below.kind === 'sip' && isOurRecordRouteUri(below, config)) {
    const second = open(below);
    if (second === undefined) return undefined;
    routed = routed.clone();
    routed.removeFirst('Route');
    last = second;
  }
  const contact = unmaskedContact(keys, config, routed.requestUri, callId, [request.from.tag, to]);
  if (last.routes !== undefined || contact !== undefined) {
    routed = routed.clone();
    for (const route of [...(last.routes ?? [])].reverse()) routed.prepend('Route', route);
    if (contact !== undefined) routed.setRequestUri(contact);
  }
  const flow = last.flow;
  return flow === undefined || cameOn(flow, arrival) ? { request: routed } : { request: routed, flow };
}

/**
 * What a Path token (RFC 3327) is signed over: no dialog's Call-ID or tag — the URI this proxy adds
 * as Path to a REGISTER it forwards is good for every request the registrar's side sends the UA.
 */
const PATH_BINDING: readonly string[] = ['path'];

/** The token of the Path URI this proxy adds to a REGISTER it forwards (RFC 3327 §5.1): the UA's flow. */
export function pathToken(keys: RouteTokenKeys, flow: TokenFlow): string {
  return signRouteToken(keys, { flow }, PATH_BINDING);
}

/**
 * A request sent to a UA through the Path this proxy added to its REGISTER (RFC 3327 §5.3: the
 * registrar preloads it as a Route): the UA's flow its token names, or undefined when the Route
 * route pre-processing consumed is not such a URI of ours.
 */
export function pathRoute(
  keys: RouteTokenKeys,
  preprocessed: PreprocessedRequest,
  config: SelfConfig,
): TokenFlow | undefined {
  const uri = consumedRecordRoute(preprocessed.actions);
  if (uri === undefined || uri.kind !== 'sip' || uri.user === null || !isOurRecordRouteUri(uri, config))
    return undefined;
  return openRouteToken(keys, uri.user, [PATH_BINDING])?.flow;
}

/** Whether a request that arrived as `arrival` came on `flow`: its connection, or its UDP 5-tuple. */
function cameOn(flow: TokenFlow, arrival: Arrival): boolean {
  if (flow.flowId !== undefined) return flow.flowId === arrival.flowId;
  return flow.transport === arrival.transport && flow.address === arrival.address && flow.port === arrival.port;
}

/** The URI of ours that §16.4 removed: the strict router's Request-URI first (¶1), else the top Route (¶3). */
function consumedRecordRoute(actions: readonly RouteAction[]): Uri | undefined {
  for (const action of actions) {
    if (action.kind === 'strict-router-undo') return parseUri(action.recordRouteUri);
  }
  for (const action of actions) {
    if (action.kind === 'own-route-removed') return parseNameAddr(action.route).uri;
  }
  return undefined;
}
