import { type NameAddr, type SipMessage, type Transport, type Uri, parseNameAddr, parseUri } from '@sipedge/sip';
import { type AddressFamily, proxyUri } from './forward.js';
import { isOurRecordRouteUri } from './route.js';
import { type SelfConfig, isOurUri } from './self.js';
import {
  type RouteTokenKeys,
  type TokenBinding,
  dialogBinding,
  openRouteToken,
  sealRouteToken,
} from './route-token.js';

/**
 * Topology hiding (Kamailio's topoh/topos, without their state): what this proxy forwards between
 * two sides that must not see each other's addresses carries none of the Via, Record-Route or
 * Contact addresses of the side it comes from, and what comes back is restored. Nothing is kept
 * between transactions: the removed values travel sealed (route-token.ts, AES-256-GCM under a key
 * of the fleet secret) in the URIs of ours that the other side uses.
 *
 * - A request forwarded (§16.6) loses every Via and Record-Route value below ours: the Vias stay in
 *   the proxy's server transaction, which answers upstream (§16.7 step 8) — the response going back
 *   gets them again (`concealResponse`) — and the Record-Route values, the route set that leads
 *   back to the side they came from, travel in the token of our upstream Record-Route URI.
 * - A response forwarded upstream (§16.7) loses the Record-Route values above ours (the route set
 *   towards the side it came from): they travel in our downstream Record-Route URI, rewritten as
 *   §16.7 step 4 allows; the upstream side's own values, removed from the request, are put back.
 * - Either way each Contact (§8.1.1.8, §12.1) is replaced by a URI of ours whose user part is a
 *   sealed token naming it, bound to the dialog.
 * - A request of the dialog that comes back (dialog-trust.ts `dialogRoute`) gets the routes its
 *   last Route of ours carries as its next Routes and, when its Request-URI is one of our masked
 *   Contacts, the Contact it stands for.
 *
 * The body (an SDP offer names its media addresses), Call-ID, From, To and every other header are
 * left alone.
 */

/** Which messages hide topology: none, those between a trusted and an untrusted side, or all. */
export type TopologyHiding = 'off' | 'untrusted' | 'all';

export const TOPOLOGY_HIDING_MODES: readonly TopologyHiding[] = ['off', 'untrusted', 'all'];

/** The side a message is sent to: the transport and address family it reaches us on (for our Contact URI). */
export interface HiddenSide {
  transport: Transport;
  family?: AddressFamily;
}

/**
 * Whether a message that came from `from` and goes to `to` (addresses) hides each side's topology
 * from the other: always with `all`; with `untrusted` when exactly one of them is trusted
 * (`proxy.trusted`, the inside), so that neither the inside nor the outside sees the other's.
 */
export function hidesTopology(
  mode: TopologyHiding | undefined,
  isTrusted: (address: string) => boolean,
  from: string,
  to: string,
): boolean {
  if (mode === 'all') return true;
  return mode === 'untrusted' && isTrusted(from) !== isTrusted(to);
}

/**
 * A request to forward towards a hidden side (before §16.6 adds our Via and Record-Route): a copy
 * without Via and Record-Route rows, its Contacts masked. Returns the Record-Route values removed,
 * in order: the route set a request from the other side takes after our URIs (§12.1.1), to be
 * sealed in our upstream Record-Route token (`dialogRecordRoute` with `sealed`).
 */
export function concealRequest(
  keys: RouteTokenKeys,
  config: SelfConfig,
  request: SipMessage,
  towards: HiddenSide,
): { request: SipMessage; recordRoutes: string[] } {
  const copy = request.clone();
  copy.remove('Via');
  const recordRoutes = copy.values('record-route');
  copy.remove('Record-Route');
  maskContacts(keys, config, copy, towards);
  return { request: copy, recordRoutes };
}

/**
 * A response from a hidden side, before §16.7 step 3 removes our Via: a copy with the Vias of
 * `received` (the request as the server transaction got it) below ours, the Record-Route values
 * above ours sealed in our downstream URI (§16.7 step 4: a proxy may rewrite its own value), the
 * upstream side's values (those of `received`) below ours again, and its Contacts masked.
 */
export function concealResponse(
  keys: RouteTokenKeys,
  config: SelfConfig,
  response: SipMessage,
  received: SipMessage,
  towards: HiddenSide,
): SipMessage {
  const copy = response.clone();
  const [ours] = copy.values('via');
  copy.remove('Via');
  for (const via of [...(ours === undefined ? [] : [ours]), ...received.values('via')].reverse()) {
    copy.prepend('Via', via);
  }
  const values = copy.values('record-route');
  const isOurs = (value: string) => isOurRecordRouteUri(parseNameAddr(value).uri, config);
  const first = values.findIndex(isOurs);
  const own: string[] = [];
  for (let at = first; at >= 0 && at < values.length && isOurs(values[at]!); at++) own.push(values[at]!);
  const downstream = first < 0 ? values : values.slice(0, first);
  const binding = dialogBinding(copy.callId, copy.from.tag);
  if (own.length > 0 && downstream.length > 0) {
    // Our downstream URI on top (RFC 5658): the one the upstream side's requests take last, so the
    // route set beyond it (in the order a request takes it, §12.1.2) is restored when they do.
    own[0] = withRoutes(keys, parseNameAddr(own[0]!), [...downstream].reverse(), binding);
  }
  const recordRoutes = [...own, ...received.values('record-route')];
  if (recordRoutes.length > 0) copy.set('Record-Route', recordRoutes.join(', '));
  else copy.remove('Record-Route');
  maskContacts(keys, config, copy, towards);
  return copy;
}

/**
 * The Contact a masked Request-URI stands for (a URI of ours whose user part is a Contact token
 * bound to one of `tags` of the dialog `callId`), or undefined when `uri` is not one.
 */
export function unmaskedContact(
  keys: RouteTokenKeys,
  config: SelfConfig,
  uri: Uri,
  callId: string,
  tags: readonly (string | undefined)[],
): Uri | undefined {
  if (uri.kind !== 'sip' || uri.user === null || !isOurUri(uri, config)) return undefined;
  const contact = openRouteToken(
    keys,
    uri.user,
    tags.map((tag) => contactBinding(callId, tag)),
  )?.contact;
  if (contact === undefined) return undefined;
  try {
    return parseUri(contact);
  } catch {
    return undefined;
  }
}

/** Our URI with `routes` added to its token's content (a token that does not open is left as it is). */
function withRoutes(keys: RouteTokenKeys, value: NameAddr, routes: string[], binding: TokenBinding): string {
  const { uri } = value;
  const content = uri.kind === 'sip' && uri.user !== null ? openRouteToken(keys, uri.user, [binding]) : undefined;
  if (content === undefined || uri.kind !== 'sip') return value.toString();
  return value.withUri(uri.with({ user: sealRouteToken(keys, { ...content, routes }, binding) })).toString();
}

/**
 * Each Contact of `message` replaced by `<sip:TOKEN@our-address>` facing `towards` (SIPS for a SIPS
 * Contact), its display name and header parameters (expires, q, feature tags) kept; the token
 * seals the Contact's URI, bound to the Call-ID and the From tag. `*` and non-SIP URIs stay.
 */
function maskContacts(keys: RouteTokenKeys, config: SelfConfig, message: SipMessage, towards: HiddenSide): void {
  if (!message.has('contact')) return;
  const binding = contactBinding(message.callId, message.from.tag);
  const masked = message.contacts.map((contact) => {
    if (contact === '*' || contact.uri.kind !== 'sip') return contact.toString();
    const token = sealRouteToken(keys, { contact: contact.uri.toString() }, binding);
    const uri = proxyUri(config, contact.uri.secure, token, towards.transport, towards.family);
    return contact.withUri(parseUri(uri)).toString();
  });
  message.set('Contact', masked.join(', '));
}

/** What a masked Contact's token is bound to: not a Record-Route's, so neither passes for the other. */
function contactBinding(callId: string, tag: string | undefined): TokenBinding {
  return ['contact', callId, tag ?? ''];
}
