import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Transport, isTransport } from '@sipedge/sip';
import { OpenedTokens } from './opened-tokens.js';
import { PreparedSecret } from './token-keys.js';

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
 *
 * That content is readable by anyone who has the URI. A token that must hide what it carries from
 * the UAs (topology hiding, topology.ts) is sealed instead: `version 2 (1 byte) ‖ nonce (12 bytes) ‖
 * AES-256-GCM ciphertext ‖ tag (16 bytes)`, its key derived from the fleet secret with HKDF-SHA-256
 * (RFC 5869), the binding strings its additional authenticated data, the content JSON (the flow as
 * above, the Route values to restore, a masked Contact's URI). Both kinds open alike.
 */

/** The fleet's token keys: every worker of a fleet must have the same `secret`. */
export interface RouteTokenKeys {
  /** At least 32 bytes (a string counts its UTF-8 bytes). Signs new tokens and verifies. */
  readonly secret: string | Uint8Array;
  /** Secrets that still verify (never sign), for a rotation: keep them as long as dialogs last. */
  readonly previous?: readonly (string | Uint8Array)[];
}

/** How to reach a UA: the source its request came from, and (streams) the edge and connection. */
export interface TokenFlow {
  readonly transport: Transport;
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
  /**
   * Route values (in the order a request of the dialog takes them) that topology hiding removed
   * from what the other side saw: restored below our Route when a request of the dialog comes back.
   * Sealed tokens only.
   */
  readonly routes?: readonly string[];
  /** The URI of a Contact that topology hiding replaced by one of ours. Sealed tokens only. */
  readonly contact?: string;
}

/** The strings a token is bound to (signed over, not carried): e.g. a dialog's Call-ID and tag. */
export type TokenBinding = readonly string[];

/**
 * What the tokens of a dialog's URIs are bound to (dialog-trust.ts): its Call-ID and the From tag of
 * the request that may create it — every later request of the dialog has that tag as its From or
 * its To tag.
 */
export function dialogBinding(callId: string, tag: string | undefined): TokenBinding {
  return ['dialog', callId, tag ?? ''];
}

/** The shortest secret accepted (256 bits of a random string's entropy at best). */
export const MIN_ROUTE_SECRET_BYTES = 32;

const VERSION = 1;
const SEALED_VERSION = 2;
const MAC_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = 'sipedge route token v1\0';
const SEALED_LABEL = 'sipedge route token v2\0';
const TOKEN_TEXT = /^[A-Za-z0-9_-]+$/;

/** Checks the keys up front (at start-up): a RangeError names the short one. */
export function checkRouteTokenKeys(keys: RouteTokenKeys): void {
  secretBytes(keys.secret, 'secret');
  (keys.previous ?? []).forEach((secret, i) => secretBytes(secret, `previous secret ${i + 1}`));
}

/** A token carrying `content` in plain text, bound to `binding`: only a flow (use `sealRouteToken` for more). */
export function signRouteToken(keys: RouteTokenKeys, content: RouteTokenContent, binding: TokenBinding): string {
  if (content.routes !== undefined || content.contact !== undefined) {
    throw new TypeError('routes and a Contact are carried in sealed tokens only');
  }
  const flow = content.flow === undefined ? '' : encodeFlow(content.flow);
  const body = Buffer.from(flow, 'utf8');
  const mac = macOf(stateOf(keys).secrets[0]!, body, binding);
  const token = Buffer.concat([Buffer.of(VERSION), mac, body]).toString('base64url');
  // What opening it will give: the flow as the token carries it.
  const carried = flow === '' ? undefined : decodeFlow(flow);
  stateOf(keys).opened.set(token, binding, carried === undefined ? {} : { flow: carried });
  return token;
}

/**
 * A sealed token (version 2): `content` encrypted and authenticated with AES-256-GCM under a key
 * derived from the fleet secret, bound to `binding` (its additional authenticated data). A UA that
 * holds it learns nothing of the content but its length; a changed byte or another binding makes it
 * fail to open.
 */
export function sealRouteToken(keys: RouteTokenKeys, content: RouteTokenContent, binding: TokenBinding): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', stateOf(keys).secrets[0]!.sealingKey, nonce, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(framed(SEALED_LABEL, [], binding));
  const plain = encodeSealed(content);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const token = Buffer.concat([Buffer.of(SEALED_VERSION), nonce, encrypted, cipher.getAuthTag()]).toString('base64url');
  const carried = decodeSealed(plain);
  if (carried !== undefined) stateOf(keys).opened.set(token, binding, carried);
  return token;
}

/**
 * The content of a token that one of the keys signed or sealed for one of the candidate bindings,
 * or undefined (not a token, another version, a MAC or tag that matches no key and binding). A
 * token these keys issued or opened lately for one of the bindings is not proved again
 * (opened-tokens.ts); otherwise every key and binding is tried, so the time taken does not say
 * which one matched. The content returned is frozen.
 */
export function openRouteToken(
  keys: RouteTokenKeys,
  token: string,
  bindings: readonly TokenBinding[],
): RouteTokenContent | undefined {
  const { opened } = stateOf(keys);
  const known = opened.get(token, bindings);
  if (known !== undefined) return known;
  const content = proveRouteToken(keys, token, bindings);
  if (content !== undefined) opened.set(token, content.binding, content.content);
  return content?.content;
}

/** The content of the token and the first binding it was made for, proved with the keys' HMAC or AES-GCM. */
function proveRouteToken(
  keys: RouteTokenKeys,
  token: string,
  bindings: readonly TokenBinding[],
): { content: RouteTokenContent; binding: TokenBinding } | undefined {
  if (!TOKEN_TEXT.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // Only the canonical text of the bytes (Node's decoder tolerates some variants).
  if (bytes.toString('base64url') !== token) return undefined;
  if (bytes[0] === SEALED_VERSION) return openSealed(keys, bytes, bindings);
  if (bytes.length < 1 + MAC_BYTES || bytes[0] !== VERSION) return undefined;
  const given = bytes.subarray(1, 1 + MAC_BYTES);
  const body = bytes.subarray(1 + MAC_BYTES);
  let matched: TokenBinding | undefined;
  for (const secret of stateOf(keys).secrets) {
    for (const binding of bindings) {
      if (timingSafeEqual(macOf(secret, body, binding), given)) matched ??= binding;
    }
  }
  if (matched === undefined) return undefined;
  if (body.length === 0) return { content: {}, binding: matched };
  const flow = decodeFlow(body.toString('utf8'));
  return flow === undefined ? undefined : { content: { flow }, binding: matched };
}

function openSealed(
  keys: RouteTokenKeys,
  bytes: Buffer,
  bindings: readonly TokenBinding[],
): { content: RouteTokenContent; binding: TokenBinding } | undefined {
  if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES) return undefined;
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const encrypted = bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  let opened: { plain: Buffer; binding: TokenBinding } | undefined;
  for (const secret of stateOf(keys).secrets) {
    const key = secret.sealingKey;
    for (const binding of bindings) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(framed(SEALED_LABEL, [], binding));
      decipher.setAuthTag(tag);
      try {
        const plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
        opened ??= { plain, binding };
      } catch {
        // Not this key and binding (the tag does not verify): the next one may.
      }
    }
  }
  if (opened === undefined) return undefined;
  const content = decodeSealed(opened.plain);
  return content === undefined ? undefined : { content, binding: opened.binding };
}

/** What is kept per keys object: its secrets prepared, and the tokens it issued or opened lately. */
interface KeysState {
  /** The signing secret first, then the previous ones. */
  readonly secrets: readonly PreparedSecret[];
  readonly opened: OpenedTokens;
}

const states = new WeakMap<RouteTokenKeys, KeysState>();

/**
 * The state of `keys`, made at its first use. Per keys object: new keys (a rotation that retires a
 * secret) start with nothing remembered, and a retired secret's tokens stop opening at once.
 */
function stateOf(keys: RouteTokenKeys): KeysState {
  let state = states.get(keys);
  if (state === undefined) {
    const secrets = [keys.secret, ...(keys.previous ?? [])].map(
      (secret) => new PreparedSecret(secretBytes(secret, 'secret')),
    );
    state = { secrets, opened: new OpenedTokens() };
    states.set(keys, state);
  }
  return state;
}

function macOf(secret: PreparedSecret, body: Buffer, binding: TokenBinding): Buffer {
  return secret.hmac(framed(LABEL, [body], binding)).subarray(0, MAC_BYTES);
}

/**
 * `label ‖ each part and binding string, length-prefixed` (4 bytes, big-endian): what is
 * authenticated. Written into one buffer: a token is signed for every INVITE and checked on the
 * requests of its dialog, and a buffer per prefix and per part was about 2% of what the message
 * path allocates.
 */
function framed(label: string, parts: readonly Buffer[], binding: TokenBinding): Buffer {
  let size = label.length + 4 * (parts.length + binding.length);
  for (const part of parts) size += part.length;
  for (const text of binding) size += Buffer.byteLength(text, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = out.write(label, 0, 'latin1');
  for (const part of parts) {
    at = out.writeUInt32BE(part.length, at);
    at += part.copy(out, at);
  }
  for (const text of binding) {
    const length = out.write(text, at + 4, 'utf8');
    out.writeUInt32BE(length, at);
    at += 4 + length;
  }
  return out;
}

/** A sealed token's content as JSON: `f` the flow (as in a signed token), `r` the routes, `c` the Contact. */
function encodeSealed(content: RouteTokenContent): Buffer {
  const { flow, routes, contact } = content;
  return Buffer.from(
    JSON.stringify({
      ...(flow === undefined ? {} : { f: encodeFlow(flow) }),
      ...(routes === undefined ? {} : { r: routes }),
      ...(contact === undefined ? {} : { c: contact }),
    }),
    'utf8',
  );
}

function decodeSealed(plain: Buffer): RouteTokenContent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(plain.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const { f, r, c } = json as { f?: unknown; r?: unknown; c?: unknown };
  const flow = typeof f === 'string' ? decodeFlow(f) : undefined;
  if (f !== undefined && flow === undefined) return undefined;
  if (r !== undefined && !(Array.isArray(r) && r.every((route) => typeof route === 'string'))) return undefined;
  if (c !== undefined && typeof c !== 'string') return undefined;
  return {
    ...(flow === undefined ? {} : { flow }),
    ...(r === undefined ? {} : { routes: r as string[] }),
    ...(c === undefined ? {} : { contact: c }),
  };
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
    transport: transport as Transport,
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
