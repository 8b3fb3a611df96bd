import type { SipMessage } from './message.js';
import { stripBrackets } from './uri.js';
import type { Via } from './via.js';

/**
 * Stamps the top Via of a received request (§18.2.1, RFC 3581 §4): `received` when the sent-by host
 * is not the source address, and both `received` and `rport` when the client asked for rport. A
 * `received` the client wrote itself is replaced by the real source address, so that a client
 * cannot have responses sent elsewhere. Only the top Via row is re-rendered. Returns the stamped Via.
 */
export function stampReceived(request: SipMessage, sourceAddress: string, sourcePort: number): Via | undefined {
  const via = request.topVia;
  if (via === undefined) return undefined;
  const wantsRport = via.rport !== undefined;
  let stamped = via;
  const differs = stripBrackets(via.host).toLowerCase() !== sourceAddress.toLowerCase();
  if (wantsRport || differs || via.received !== undefined) {
    stamped = stamped.withParam('received', sourceAddress);
  }
  if (wantsRport) stamped = stamped.withParam('rport', String(sourcePort));
  if (stamped !== via) request.replaceFirst('Via', stamped.toString());
  return stamped;
}

export interface ResponseDestination {
  address: string;
  port: number;
}

/**
 * Where a response goes over an unreliable transport, or over a new connection when the original
 * one is gone (§18.2.2, RFC 3581 §4): `maddr` if present; else `received` with `rport` if both are
 * there; else `received` (or the sent-by host) with the sent-by port, defaulting to 5060 (5061 for
 * TLS). Addresses come back without IPv6 brackets.
 */
export function responseDestination(via: Via): ResponseDestination {
  const defaultPort = via.transport === 'TLS' ? 5061 : 5060;
  const port = via.port ?? defaultPort;
  const maddr = via.maddr;
  if (maddr !== undefined) return { address: stripBrackets(maddr), port };
  const received = via.received;
  const rport = via.rport;
  if (received !== undefined && typeof rport === 'number') return { address: stripBrackets(received), port: rport };
  return { address: stripBrackets(received ?? via.host), port };
}
