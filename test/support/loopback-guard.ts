/**
 * Keeps a fuzz run's traffic where the test can see it. A mutated message that still parses makes
 * sipedge send something somewhere: an answer to the request's Via, the request itself to its
 * Request-URI, Route or (REGISTER) the contacts it binds, a response to its second Via. This guard
 * reads a case the way the edge does (datagram, or a TCP stream cut by the StreamFramer) and says
 * when any of those places is not one the test owns:
 *
 * - answers to a request must go back to the sender's own address (after `received`/`rport`,
 *   §18.2.1, exactly as the edge stamps them), so no other socket of the test hears them;
 * - next hops (Request-URI, Route, maddr, REGISTER contacts; the second Via of a response) must be
 *   127.0.0.1 or ::1 at one of the allowed ports (the proxy, the sink) or no port;
 * - a REGISTER over a stream binds the fuzz connection itself (RFC 5626 flows, §18.1.1 reuse), so
 *   it may bind only the reserved flow user, and no request may target that user;
 * - on a sender that must only send responses, nothing may read as a request.
 *
 * Hosts other than loopback addresses (names would be looked up in DNS) are refused outright.
 */
import {
  SipMessage,
  SipParseError,
  StreamFramer,
  type Uri,
  parseMessage,
  responseDestination,
  stampReceived,
  stripBrackets,
  unescape,
} from '@sipedge/sip';

export interface GuardPolicy {
  /** The sending socket; its address is where answers must go (the port fills rport). */
  sender: { address: string; port: number };
  /** Ports a next hop may name on 127.0.0.1 / ::1. */
  hopPorts: ReadonlySet<number>;
  /** The only user a REGISTER over a stream may bind, and one no request may target. */
  flowUser: string;
  /** The edge's SIPEDGE_MAX_MESSAGE_SIZE. */
  maxMessageSize: number;
  /** The sender must only send responses (or bytes that read as no message at all). */
  onlyResponses?: boolean;
}

const LOOPBACK_HOPS: ReadonlySet<string> = new Set(['127.0.0.1', '::1']);

/** Why one UDP datagram could send traffic outside the test, or undefined when it cannot. */
export function datagramProblem(bytes: Buffer, policy: GuardPolicy): string | undefined {
  return seenProblem(readDatagram(bytes, policy.maxMessageSize), policy, false);
}

/** Why the bytes written on one TCP connection could send traffic outside the test, or undefined. */
export function streamProblem(bytes: Buffer, policy: GuardPolicy): string | undefined {
  const framer = new StreamFramer({ maxMessageSize: policy.maxMessageSize });
  for (const event of framer.push(bytes)) {
    if (event.type === 'keepalive') continue;
    const problem = seenProblem(event.type === 'message' ? event.message : event.error, policy, true);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function readDatagram(bytes: Buffer, maxSize: number): SipMessage | SipParseError {
  try {
    return parseMessage(bytes, { maxSize });
  } catch (error) {
    if (error instanceof SipParseError) return error;
    throw error;
  }
}

/** A parsed message, or the error of one that did not parse (whose partial the edge may answer). */
function seenProblem(seen: SipMessage | SipParseError, policy: GuardPolicy, stream: boolean): string | undefined {
  const message = seen instanceof SipParseError ? seen.partial : seen;
  if (message === undefined) return undefined;
  if (policy.onlyResponses === true && message.isRequest) return 'reads as a request';
  if (message.isRequest) {
    const answer = answerDestination(message, policy.sender);
    if (answer !== undefined && answer !== policy.sender.address) return `answers would go to ${answer}`;
    return seen instanceof SipMessage ? requestProblem(seen, policy, stream) : undefined;
  }
  return seen instanceof SipMessage ? responseProblem(seen, policy) : undefined;
}

/** The address the edge answers a request at (its top Via after stamping), or undefined when the Via is unreadable. */
function answerDestination(request: SipMessage, sender: GuardPolicy['sender']): string | undefined {
  try {
    const via = stampReceived(request, sender.address, sender.port);
    return via === undefined ? undefined : responseDestination(via).address;
  } catch (error) {
    if (error instanceof SipParseError) return undefined;
    throw error;
  }
}

function requestProblem(request: SipMessage, policy: GuardPolicy, stream: boolean): string | undefined {
  const routed: [string, Uri][] = [
    ['Request-URI', request.requestUri],
    ...request.routes.map((r): [string, Uri] => ['Route', r.uri]),
  ];
  for (const [where, uri] of routed) {
    const problem = hopProblem(where, uri, policy, where === 'Request-URI');
    if (problem !== undefined) return problem;
    if (userOf(uri) === policy.flowUser) return `${where} targets the flow user`;
  }
  if (request.method !== 'REGISTER') return undefined;
  if (stream && userOf(request.to.uri) !== policy.flowUser) return 'REGISTER over a stream binds another user';
  for (const contact of request.contacts) {
    if (contact === '*') continue;
    const problem = hopProblem('Contact', contact.uri, policy, false);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** A response with our Via on top goes to the next one (§16.7 step 3, §18.2.2): every lower Via must be a hop. */
function responseProblem(response: SipMessage, policy: GuardPolicy): string | undefined {
  for (const via of response.vias.slice(1)) {
    const to = responseDestination(via);
    if (!LOOPBACK_HOPS.has(to.address) || !policy.hopPorts.has(to.port)) return `forwarded to ${to.address}:${to.port}`;
  }
  return undefined;
}

/** A URI the proxy may send to: sip/sips at a loopback hop, or tel; other schemes only as a Request-URI. */
function hopProblem(where: string, uri: Uri, policy: GuardPolicy, otherSchemes: boolean): string | undefined {
  if (uri.kind === 'tel') return undefined;
  if (uri.kind !== 'sip') return otherSchemes ? undefined : `${where} is ${uri.toString()}`;
  if (!LOOPBACK_HOPS.has(stripBrackets(uri.host).toLowerCase())) return `${where} host ${uri.host}`;
  if (uri.port !== null && !policy.hopPorts.has(uri.port)) return `${where} port ${uri.port}`;
  const maddr = uri.maddr;
  if (maddr !== undefined && !LOOPBACK_HOPS.has(stripBrackets(maddr).toLowerCase())) return `${where} maddr ${maddr}`;
  return undefined;
}

/** A sip/sips URI's user, unescaped and lower-cased (as AORs compare); undefined otherwise. */
function userOf(uri: Uri): string | undefined {
  return uri.kind === 'sip' && uri.user !== null ? unescape(uri.user).toLowerCase() : undefined;
}
