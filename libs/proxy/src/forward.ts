import { isIP } from 'node:net';
import {
  MAGIC_COOKIE,
  type ResponseDestination,
  type SipMessage,
  type SipUri,
  type TelUri,
  type Transport,
  type Via,
  isToken,
  responseDestination,
  stripBrackets,
} from '@sipedge/sip';
import { RR_MARKER } from './route.js';
import type { SelfConfig } from './self.js';
import type { NextHop, ProxyConfig } from './types.js';

/** Max-Forwards added when a request has none (§16.6 step 3). */
export const DEFAULT_MAX_FORWARDS = 70;

/** User part of our Record-Route URIs when the caller gives no token (§16.6 step 4). */
export const DEFAULT_RR_TOKEN = 'rr';

/** One of the two URIs of a double Record-Route: its user part (a token) and the transport its side reaches us on. */
export interface RecordRouteSide {
  token: string;
  transport: Transport;
  /** The address family of that side's peer: its URI names our address of that family. */
  family?: AddressFamily;
}

/** An IP address family. */
export type AddressFamily = 4 | 6;

/** The family of an IP address (brackets allowed); undefined for a host name. */
export function addressFamily(address: string): AddressFamily | undefined {
  const family = isIP(stripBrackets(address));
  return family === 4 || family === 6 ? family : undefined;
}

export interface PrepareOptions {
  config: ProxyConfig;
  /** Insert our Record-Route (§16.6 step 4). */
  recordRoute: boolean;
  /** User part of the Record-Route URI (URI unreserved characters); default `DEFAULT_RR_TOKEN`. */
  recordRouteToken?: string;
  /**
   * Record-Route twice (RFC 5658 §4), instead of once: the URI the downstream side uses on top,
   * the one the upstream side uses below it, each with its token and the transport of its side
   * (so each side gets a Route it can reach, and each token can name its side's flow).
   */
  recordRouteSides?: { downstream: RecordRouteSide; upstream: RecordRouteSide };
}

export interface ViaOptions {
  config: ProxyConfig;
  /** Our branch for this client transaction (`forkBranch` or `statelessBranch`). */
  branch: string;
  /**
   * The transport chosen for this attempt (by RFC 3263 resolution of `nextHop`). Default: the next
   * hop's transport, else udp.
   */
  outboundTransport?: Transport;
  /** The family of the address it is sent to: the Via names our address of that family. */
  outboundFamily?: AddressFamily;
  /**
   * Send over udp whatever the size: the retry over UDP of a request the size rule moved to TCP,
   * whose connection was refused or reset (§18.1.1).
   */
  keepUdp?: boolean;
}

export type ForwardOptions = PrepareOptions & ViaOptions;

/** A request after §16.6 steps 1–7: what is common to every attempt at one target. */
export interface PreparedRequest {
  message: SipMessage;
  nextHop: NextHop;
}

/** A request ready to be sent (§16.6 steps 1–9). */
export interface ForwardedRequest {
  message: SipMessage;
  nextHop: NextHop;
  /**
   * The transport named in our Via, which the message must be sent on: `outboundTransport`, or tcp
   * when udp was chosen but the message is larger than `config.udpMtu` (§18.1.1).
   */
  transport: Transport;
}

/**
 * Forwards a request to one target: §16.6 steps 1–9 on a copy (the input is not modified). Use
 * `prepareForward` + `finishForward` instead to resolve the next hop before choosing a transport,
 * or to make several attempts (§16.6 step 7: a new branch for every tuple).
 *
 * @param target the URI of this target (§16.5); for a request that is not retargeted, the
 *               Request-URI it came with.
 */
export function forwardRequest(
  request: SipMessage,
  target: SipUri | TelUri,
  options: ForwardOptions,
): ForwardedRequest {
  return finishForward(prepareForward(request, target, options), options);
}

/**
 * §16.6 steps 1–7:
 *
 * 1. Copy: every header row keeps its text and place unless changed below; the body is untouched.
 * 2. Request-URI := target, minus what Table 1 (§19.1.1) forbids in a Request-URI (the `method`
 *    parameter and URI headers). Left as written when it is the same URI.
 * 3. Max-Forwards decremented (its row re-rendered), or `Max-Forwards: 70` added on top.
 *    Max-Forwards 0 must have been refused by `validateRequest` (§16.3 step 3): RangeError.
 * 4. Record-Route, when asked: `<sip:TOKEN@advertised-host:port;lr;sipedge>` inserted above
 *    any existing value (a new row on top when there is none). SIPS, with the TLS port, when the
 *    target or the Request-URI or the top Route after step 6 is SIPS; otherwise SIP, even
 *    when the request came over TLS. No transport parameter (§16.6 step 4 SHOULD NOT).
 * 5. No additional header fields.
 * 6. Strict next hop (§16.12.1.2): when the top Route lacks `lr`, the Request-URI is appended as the last
 *    Route value (a new row at the end) and the top Route's URI becomes the Request-URI.
 * 7. Next hop: the Request-URI after a step-6 reformat, else the top Route, else the Request-URI;
 *    `maddr` overrides the host; an explicit port is kept; the `transport` parameter chooses the
 *    transport; SIPS (of that URI or of the target, §16.6 step 7) means tls. A TypeError when that
 *    URI is not a SIP/SIPS URI (a tel Request-URI with no Route: nothing to resolve).
 */
export function prepareForward(request: SipMessage, target: SipUri | TelUri, options: PrepareOptions): PreparedRequest {
  const { config } = options;
  // Step 1.
  const copy = request.clone();

  // Step 2.
  const uri = requestUriFor(target);
  if (uri.toString() !== copy.requestUriText) copy.setRequestUri(uri);

  // Step 3.
  const maxForwards = copy.maxForwards;
  if (maxForwards === undefined) copy.prepend('Max-Forwards', String(DEFAULT_MAX_FORWARDS));
  else if (maxForwards === 0) throw new RangeError('Max-Forwards is 0: §16.3 step 3 forbids forwarding');
  else copy.replaceFirst('Max-Forwards', String(maxForwards - 1));

  // Step 6 (before step 4, whose SIPS rule looks at the top Route "after the post processing of
  // bullet 6"; step 4 only adds a Record-Route row, so the resulting message is the same).
  const top = copy.routes[0];
  const strict = top !== undefined && top.uri.kind === 'sip' && !top.uri.lr;
  if (strict) {
    copy.append('Route', `<${copy.requestUriText}>`);
    copy.removeFirst('Route');
    copy.setRequestUri(top.uri);
  }

  // Step 4.
  if (options.recordRoute) {
    const secure = isSips(target) || isSips(copy.requestUri) || isSips(copy.routes[0]?.uri);
    const sides = options.recordRouteSides;
    if (sides === undefined) {
      copy.prepend('Record-Route', `<${recordRouteUri(config, secure, options.recordRouteToken)}>`);
    } else {
      for (const side of [sides.upstream, sides.downstream]) {
        copy.prepend('Record-Route', `<${recordRouteUri(config, secure, side.token, side.transport, side.family)}>`);
      }
    }
  }

  // Step 7.
  const hopUri = strict ? copy.requestUri : (copy.routes[0]?.uri ?? copy.requestUri);
  if (hopUri.kind !== 'sip') {
    throw new TypeError(`no SIP or SIPS URI to route on (next hop URI ${hopUri.toString()})`);
  }
  return { message: copy, nextHop: nextHopOf(hopUri, isSips(target)) };
}

/**
 * §16.6 steps 8–9 on a copy of a prepared request, for one attempt:
 *
 * 8. Our Via on top: `SIP/2.0/<T> advertised-host:port;branch=<branch>` (the TLS port for TLS). T is
 *    the outbound transport; when that is udp, the next hop does not pin udp (`transport=udp`), and
 *    the message with our Via would be larger than `config.udpMtu` bytes, T is tcp (§18.1.1).
 *    A SIPS next hop must go over tls (TypeError otherwise).
 * 9. Content-Length added when T is a stream transport and the request has none (§18.3).
 */
export function finishForward(prepared: PreparedRequest, options: ViaOptions): ForwardedRequest {
  const { config, branch } = options;
  if (!branch.startsWith(MAGIC_COOKIE) || !isToken(branch)) throw new TypeError(`bad branch "${branch}"`);
  const { nextHop } = prepared;
  let transport: Transport = options.outboundTransport ?? nextHop.transport ?? 'udp';
  if (nextHop.transport === 'tls' && transport !== 'tls') {
    throw new TypeError(`a SIPS next hop (${nextHop.uri.toString()}) must be reached over TLS, not ${transport}`);
  }
  const message = prepared.message.clone();
  if (transport === 'udp' && nextHop.uri.transport !== 'udp' && options.keepUdp !== true) {
    const via = viaValue(config, 'udp', branch, options.outboundFamily);
    const size = message.toBuffer().length + Buffer.byteLength(`Via: ${via}\r\n`, 'latin1');
    if (size > config.udpMtu) transport = 'tcp';
  }
  message.prepend('Via', viaValue(config, transport, branch, options.outboundFamily));
  if (transport !== 'udp') message.ensureContentLength();
  return { message, nextHop, transport };
}

/**
 * The Record-Route URI this proxy inserts (§16.6 step 4), recognised later by §16.4. With a
 * `transport` (one side of a double Record-Route, RFC 5658) the URI names it (`transport=tcp`,
 * `transport=tls` with the TLS port) so that side reaches us on it; UDP and SIPS need no parameter.
 */
export function recordRouteUri(
  config: SelfConfig,
  secure: boolean,
  token = DEFAULT_RR_TOKEN,
  transport?: Transport,
  family?: AddressFamily,
): string {
  return `${proxyUri(config, secure, token, transport, family)};lr;${RR_MARKER}`;
}

/**
 * A URI naming this proxy with `user` (URI unreserved characters, §25.1) as its user part, as a
 * side reaches it: our address of its family, the port of its transport (the TLS port when
 * `secure`, a SIPS URI) and, over a stream transport, the `transport` parameter. The Record-Route
 * URIs (above) and the Contacts topology hiding puts in place of a UA's (topology.ts).
 */
export function proxyUri(
  config: SelfConfig,
  secure: boolean,
  user: string,
  transport?: Transport,
  family?: AddressFamily,
): string {
  if (!RR_TOKEN.test(user)) throw new TypeError(`token "${user}" is not a URI user part`);
  const port = advertisedPort(config, secure ? 'tls' : (transport ?? 'udp'));
  const hostPort = bracketed(advertisedHost(config, family)) + (port === undefined ? '' : `:${port}`);
  const param = secure || transport === undefined || transport === 'udp' ? '' : `;transport=${uriTransport(transport)}`;
  return `${secure ? 'sips' : 'sip'}:${user}@${hostPort}${param}`;
}

/** A response ready to go to the previous hop (§16.7 step 3 / §16.11). */
export interface ForwardedResponse {
  message: SipMessage;
  /** The Via now on top: the previous hop's (its transport, and for streams its `received`/`rport`). */
  via: Via;
  /** Where that Via says the response goes (§18.2.2, RFC 3581). */
  destination: ResponseDestination;
}

/**
 * Forwards a response (§16.7 step 3, §16.11): a copy without the top Via, which must be ours (check
 * with `isOurVia` first: a response whose top Via is not ours is discarded, §16.11), addressed to
 * the Via that is then on top. Content-Length is added when that Via names a stream transport
 * (§18.3, §20.14); nothing else changes and the body is untouched. Undefined when no Via remains:
 * the response is to a request this proxy originated.
 */
export function forwardResponse(response: SipMessage): ForwardedResponse | undefined {
  const message = response.clone();
  message.removeFirst('Via');
  const via = message.topVia;
  if (via === undefined) return undefined;
  if (via.transport !== 'UDP') message.ensureContentLength();
  return { message, via, destination: responseDestination(via) };
}

/** URI unreserved characters (§25.1), a safe user part. */
const RR_TOKEN = /^[A-Za-z0-9\-_.!~*'()]+$/;

function requestUriFor(target: SipUri | TelUri): SipUri | TelUri {
  if (target.kind !== 'sip' || (target.headers.length === 0 && !target.params.has('method'))) return target;
  return target.with({ headers: [], params: target.params.without('method') });
}

function isSips(uri: { kind: string; scheme: string } | undefined): boolean {
  return uri?.kind === 'sip' && uri.scheme === 'sips';
}

function nextHopOf(uri: SipUri, secureTarget: boolean): NextHop {
  const hop: NextHop = { uri, host: stripBrackets(uri.maddr ?? uri.host).toLowerCase() };
  if (uri.port !== null) hop.port = uri.port;
  const transport = uri.secure || secureTarget ? 'tls' : uri.transport;
  if (transport === 'udp' || transport === 'tcp' || transport === 'tls') hop.transport = transport;
  return hop;
}

function viaValue(config: SelfConfig, transport: Transport, branch: string, family?: AddressFamily): string {
  const port = advertisedPort(config, transport);
  const sentBy = bracketed(advertisedHost(config, family)) + (port === undefined ? '' : `:${port}`);
  return `SIP/2.0/${transport.toUpperCase()} ${sentBy};branch=${branch}`;
}

/** The fleet's port for `transport`: the TLS port over TLS, the WebSocket ports over WS and WSS (RFC 7118). */
function advertisedPort(config: SelfConfig, transport: Transport): number | undefined {
  const { port, tlsPort, wsPort, wssPort } = config.advertised;
  switch (transport) {
    case 'tls':
      return tlsPort;
    case 'ws':
      return wsPort ?? port;
    case 'wss':
      return wssPort ?? tlsPort;
    default:
      return port;
  }
}

/** The `transport` URI parameter: RFC 7118 §5.2 names WS and WSS both `ws` (WSS is a sips URI's). */
function uriTransport(transport: Transport): string {
  return transport === 'wss' ? 'ws' : transport;
}

/** Our address facing a peer of `family`: the IPv6 one for IPv6 peers when configured, else the advertised host. */
function advertisedHost(config: SelfConfig, family: AddressFamily | undefined): string {
  return family === 6 && config.advertised.ipv6Host !== undefined ? config.advertised.ipv6Host : config.advertised.host;
}

/** An IPv6 address as a URI/sent-by host wants it: in brackets. */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
