import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Transport, isTransport } from '@sipedge/sip';

/**
 * Signed tokens that this proxy places in the user part of the URIs it puts on a request's path
 * (its Record-Route, §16.6 step 4) and reads back when they return as a Route (§16.4). A token
 * proves that the fleet issued the URI for what it is bound to (a dialog's Call-ID and tag), so a
 * Route naming us cannot be forged to pass for a dialog we serve; and it can carry a flow — how to
 * reach the UA the request came from (RFC 5626 §5.2: "the flow token … is signed with a secret
 * known only to the proxy") — for the NAT and connection work that routes requests back over it.
 *
 * Format (one base64url string, URI unreserved characters only, §25.1):
 * `version (1 byte) ‖ MAC (16 bytes) ‖ content`, where content is empty or the flow as
 * `transport|address|port|edgeId|flowId` (UTF-8), and MAC = HMAC-SHA-256(secret, label ‖
 * length-prefixed content ‖ length-prefixed binding strings), truncated to 128 bits. The binding
 * strings are not in the token: the verifier supplies the candidates from the request.
 */

/** The fleet's token keys: every worker of a fleet must have the same `secret`. */
export interface RouteTokenKeys {
  /** At least 32 bytes (a string counts its UTF-8 bytes). Signs new tokens and verifies. */
  readonly secret: string | Uint8Array;
  /** Secrets that still verify (never sign), for a rotation: keep them as long as dialogs last. */
  readonly previous?: readonly (string | Uint8Array)[];
}

/** A transport a flow runs on (RFC 5626 §3: UDP 5-tuple or a connection). */
export type FlowTransport = Transport;

/** How to reach a UA: the source its request came from, and (streams) the edge and connection. */
export interface TokenFlow {
  readonly transport: FlowTransport;
  readonly address: string;
  readonly port: number;
  /** The edge that received the request (and holds the connection). */
  readonly edgeId?: string;
  /** The connection (TCP/TLS/WS flow id) the request came on. */
  readonly flowId?: string;
}

/** What a token carries. */
export interface RouteTokenContent {
  readonly flow?: TokenFlow;
}

/** The strings a token is bound to (signed over, not carried): e.g. a dialog's Call-ID and tag. */
export type TokenBinding = readonly string[];

/** The shortest secret accepted (256 bits of a random string's entropy at best). */
export const MIN_ROUTE_SECRET_BYTES = 32;

const VERSION = 1;
const MAC_BYTES = 16;
const LABEL = 'sipedge route token v1\0';
const TOKEN_TEXT = /^[A-Za-z0-9_-]+$/;

/** Checks the keys up front (at start-up): a RangeError names the short one. */
export function checkRouteTokenKeys(keys: RouteTokenKeys): void {
  secretBytes(keys.secret, 'secret');
  (keys.previous ?? []).forEach((secret, i) => secretBytes(secret, `previous secret ${i + 1}`));
}

/** A token carrying `content`, bound to `binding`. */
export function signRouteToken(keys: RouteTokenKeys, content: RouteTokenContent, binding: TokenBinding): string {
  const body = Buffer.from(content.flow === undefined ? '' : encodeFlow(content.flow), 'utf8');
  const mac = macOf(secretBytes(keys.secret, 'secret'), body, binding);
  return Buffer.concat([Buffer.of(VERSION), mac, body]).toString('base64url');
}

/**
 * The content of a token that one of the keys signed for one of the candidate bindings, or
 * undefined (not a token, another version, a MAC that matches no key and binding). Every key and
 * binding is tried, so the time taken does not say which one matched.
 */
export function openRouteToken(
  keys: RouteTokenKeys,
  token: string,
  bindings: readonly TokenBinding[],
): RouteTokenContent | undefined {
  if (!TOKEN_TEXT.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // Only the canonical text of the bytes (Node's decoder tolerates some variants).
  if (bytes.length < 1 + MAC_BYTES || bytes[0] !== VERSION || bytes.toString('base64url') !== token) return undefined;
  const given = bytes.subarray(1, 1 + MAC_BYTES);
  const body = bytes.subarray(1 + MAC_BYTES);
  let matched = false;
  for (const secret of [keys.secret, ...(keys.previous ?? [])]) {
    for (const binding of bindings) {
      if (timingSafeEqual(macOf(secretBytes(secret, 'secret'), body, binding), given)) matched = true;
    }
  }
  if (!matched) return undefined;
  if (body.length === 0) return {};
  const flow = decodeFlow(body.toString('utf8'));
  return flow === undefined ? undefined : { flow };
}

function macOf(secret: Buffer, body: Buffer, binding: TokenBinding): Buffer {
  const hmac = createHmac('sha256', secret).update(LABEL, 'latin1');
  for (const part of [body, ...binding.map((s) => Buffer.from(s, 'utf8'))]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part.length);
    hmac.update(length).update(part);
  }
  return hmac.digest().subarray(0, MAC_BYTES);
}

function encodeFlow(flow: TokenFlow): string {
  const fields = [flow.transport, flow.address, String(flow.port), flow.edgeId ?? '', flow.flowId ?? ''];
  if (fields.some((f) => f.includes('|'))) throw new TypeError(`flow field with "|": ${fields.join(' ')}`);
  return fields.join('|');
}

function decodeFlow(text: string): TokenFlow | undefined {
  const [transport, address, port, edgeId, flowId, ...rest] = text.split('|');
  if (rest.length > 0 || transport === undefined || !isTransport(transport) || !address) return undefined;
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) return undefined;
  return {
    transport: transport as FlowTransport,
    address,
    port: portNumber,
    ...(edgeId ? { edgeId } : {}),
    ...(flowId ? { flowId } : {}),
  };
}

function secretBytes(secret: string | Uint8Array, what: string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_ROUTE_SECRET_BYTES) {
    throw new RangeError(`route token ${what}: at least ${MIN_ROUTE_SECRET_BYTES} bytes needed`);
  }
  return bytes;
}
