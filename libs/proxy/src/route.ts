import { SipMessage, type SipUri, type Transport, type Uri, hostType, splitList, stripBrackets } from '@sipedge/sip';
import { type SelfConfig, defaultPort, isOurHost, isOurPort, isOurUri } from './self.js';
import type { ProxyConfig } from './types.js';

/**
 * The URI parameter that marks a Record-Route URI as ours (§16.6 step 4 writes it, §16.4 looks
 * for it): "a proxy need only place enough information in those URIs to recognize them as values
 * it provided when they later appear" (§16.4).
 */
export const RR_MARKER = 'sipedge';

/** Transport a request arrived on (for the maddr rule of §16.4). */
export interface ReceivedOn {
  transport: Transport;
  port: number;
}

/** One change §16.4 made to a request (for logs and tests). */
export type RouteAction =
  /** ¶1: the Request-URI was one of our Record-Route URIs (a strict router sent it): it became the last Route value. */
  | { kind: 'strict-router-undo'; recordRouteUri: string; requestUri: string }
  /** ¶2: the Request-URI's maddr named us and the request came in as the URI said: maddr (and non-default port/transport) removed. */
  | { kind: 'maddr-stripped'; before: string; after: string }
  /** ¶3: the first Route value named us and was removed. */
  | { kind: 'own-route-removed'; route: string };

export interface PreprocessedRequest {
  /** A copy of the request with the changes applied (the input is not modified). */
  request: SipMessage;
  actions: RouteAction[];
}

/** A URI this proxy placed into a Record-Route (§16.6 step 4): ours and carrying `RR_MARKER`. */
export function isOurRecordRouteUri(uri: Uri, config: SelfConfig): boolean {
  return uri.kind === 'sip' && uri.params.has(RR_MARKER) && isOurUri(uri, config);
}

/**
 * Route information preprocessing (§16.4), on a copy of the request, in the RFC's order:
 *
 * 1. The Request-URI is a value we placed in a Record-Route: the element before us is a strict
 *    router (§16.12.1.2). The Request-URI is replaced by the last Route value (its URI; header
 *    parameters of the name-addr are dropped), which is removed from Route. Recognised by our host
 *    and port *and* the `RR_MARKER` parameter, so that a request for a user at our host (or a
 *    REGISTER to our own name) with a Route set is never mistaken for one.
 * 2. The Request-URI has a `maddr` we are responsible for (one of our hosts, or a served domain) and
 *    the request came in on the port and transport the URI indicates: `maddr` is removed, and
 *    the port and `transport` parameter unless they are the defaults (5060/5061; udp for sip, tcp
 *    for sips, §19.1.2). An explicit port must equal the port it arrived on; without a port, the
 *    default port must be ours (or maddr is a name, resolved by SRV). A transport parameter must
 *    name the transport it arrived on (sips counts as tls); without one, any transport matches,
 *    since RFC 3263 resolution picks one. When `received` is not given, the port must merely be
 *    one of ours. Otherwise the request is left as it is and is forwarded to the indicated port and
 *    transport (§16.4 ¶2 note, §16.5).
 * 3. The first Route value indicates this proxy (§16.12.1.1, `isOurUri`; no marker needed, a UA may preload
 *    our plain address): it is removed. Only the first one: if the next one is ours too, the
 *    request goes to us again (a spiral) and is handled then.
 */
export function preprocessRoutes(request: SipMessage, config: ProxyConfig, received?: ReceivedOn): PreprocessedRequest {
  let copy = request.clone();
  const actions: RouteAction[] = [];

  // §16.4 ¶1: strict-router undo.
  const routes = copy.routes;
  const ruri = copy.requestUri;
  if (routes.length > 0 && isOurRecordRouteUri(ruri, config)) {
    const last = routes[routes.length - 1]!;
    copy = withoutLastRoute(copy);
    copy.setRequestUri(last.uri);
    actions.push({ kind: 'strict-router-undo', recordRouteUri: ruri.toString(), requestUri: last.uri.toString() });
  }

  // §16.4 ¶2: maddr naming us.
  const target = copy.requestUri;
  if (target.kind === 'sip' && target.maddr !== undefined && responsibleFor(target.maddr, config)) {
    if (arrivedAsIndicated(target, config, received)) {
      const stripped = stripMaddr(target);
      copy.setRequestUri(stripped);
      actions.push({ kind: 'maddr-stripped', before: target.toString(), after: stripped.toString() });
    }
  }

  // §16.4 ¶3: our own Route on top.
  const top = copy.routes[0];
  if (top !== undefined && isOurUri(top.uri, config)) {
    const removed = copy.removeFirst('Route')!;
    actions.push({ kind: 'own-route-removed', route: removed });
  }

  return { request: copy, actions };
}

/**
 * A copy without the last Route value: the last Route row loses its last value (re-rendered) or,
 * when that was its only value, goes away. Every other row keeps its text and place.
 */
function withoutLastRoute(message: SipMessage): SipMessage {
  const rows = [...message.rows];
  let at = rows.length - 1;
  while (at >= 0 && rows[at]!.key !== 'route') at--;
  const row = rows[at]!;
  const parts = splitList(row.value);
  if (parts.length <= 1) rows.splice(at, 1);
  else rows[at] = { name: row.name, key: row.key, value: parts.slice(0, -1).join(', '), raw: null };
  return new SipMessage(message.start, rows, message.body);
}

function responsibleFor(maddr: string, config: ProxyConfig): boolean {
  return isOurHost(maddr, config) || config.domains.has(stripBrackets(maddr).toLowerCase());
}

function arrivedAsIndicated(uri: SipUri, config: ProxyConfig, received: ReceivedOn | undefined): boolean {
  const maddr = uri.maddr!;
  if (uri.port !== null) {
    if (received !== undefined ? received.port !== uri.port : !isOurPort(uri.port, config)) return false;
  } else if (hostType(maddr) !== 'name') {
    const port = defaultPort(uri);
    if (received !== undefined ? received.port !== port : !isOurPort(port, config)) return false;
  }
  const param = uri.transport;
  if (param === undefined || received === undefined) return true;
  const indicated = uri.secure ? 'tls' : param;
  return indicated === received.transport;
}

function stripMaddr(uri: SipUri): SipUri {
  let params = uri.params.without('maddr');
  const defaultTransport = uri.secure ? 'tcp' : 'udp';
  if (uri.transport !== undefined && uri.transport !== defaultTransport) params = params.without('transport');
  const port = uri.port !== null && uri.port !== (uri.secure ? 5061 : 5060) ? null : uri.port;
  return uri.with({ params, port });
}
