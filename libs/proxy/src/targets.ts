import type { LocationService } from '@sipedge/ports';
import { type BindingData, type Target, aorOf, lookupTargets } from '@sipedge/registrar';
import { type SipMessage, type SipUri, type Uri, parseUri, stripBrackets, unescape, uriEquals } from '@sipedge/sip';
import { type SelfConfig, isOurHost, isOurPort } from './self.js';
import type { ProxyConfig } from './types.js';

/**
 * Request targets (RFC 3261 §16.5): where a request that passed §16.3 validation and §16.4 route
 * pre-processing goes. Pure apart from the location store read; no sockets, `now` passed in.
 *
 * Order of the rules (the first that applies decides):
 *
 * 1. The Request-URI has `maddr` (still there after §16.4): it is the only target (§16.5 ¶2).
 * 2. Its host is a served domain (`config.domains`; case-insensitive, IPv6 brackets and any port
 *    ignored): the location service (§16.5 ¶4, §19.1.4). The Request-URI is canonicalised by the
 *    registrar's `aorOf` (§10.3) inside `lookupTargets`; every binding becomes a target with its
 *    q-value, highest q first, each URI at most once (§16.5 "Targets can only be placed in the
 *    target set once", §19.1.4 equality). No binding: 480 when `isKnownUser` says the AOR exists,
 *    404 when it says it does not, 485 when it says the AOR is ambiguous; 480 when there is no
 *    `isKnownUser` at all (no user directory: the proxy cannot know the user does not exist, and
 *    "the target set remains empty" is 480, §16.5 last ¶).
 * 3. No Route header is left and a static route matches: the Request-URI is the only target,
 *    unchanged, with a forced next hop — the route's URI, to be pushed as the top Route (§16.5 "the
 *    identity of that next hop ... is inserted as the top-most Route header field value", §16.6
 *    step 6; see `withRoute`), or a dispatcher set to pick that URI from (`dispatcher.ts`).
 * 4. Otherwise (a foreign domain, or a Route set that already decides the next hop): the
 *    Request-URI is the only target, unchanged (§16.5 ¶3). A tel: or other non-SIP
 *    Request-URI with nothing to route it on gets 416: the proxy has no way to forward that scheme.
 *
 * Whether a foreign Request-URI may be relayed at all (open relay) is the caller's policy: see
 * `isForeign`. The status 403 of `TargetOutcome` is there for that policy; this module never
 * answers it.
 */

/** A static route (configuration): requests it matches go to `to` with their Request-URI unchanged. */
export interface StaticRoute {
  /** All given conditions must hold; an empty match is a default route. */
  readonly match: {
    /** Request-URI host (sip/sips), case-insensitive, port ignored. */
    readonly domain?: string;
    /**
     * Prefix of the Request-URI user (sip/sips, unescaped) or of the tel: number. Telephone numbers
     * (tel:, and sip users with `user=phone`) are compared without visual separators (`-.()`).
     */
    readonly userPrefix?: string;
  };
  /** A SIP/SIPS URI of the next hop (a trunk, a gateway), or a dispatcher set's name. */
  readonly to: string | { readonly dispatcher: string };
}

/** Where a target's request goes first, when not decided by the Request-URI or Route set. */
export interface RequestTarget {
  /** The target URI: the Request-URI of the forwarded request (§16.6 step 2). */
  readonly uri: string;
  /** q-value in [0, 1]; 1 for every target not from the location service. */
  readonly q: number;
  /** Which rule of §16.5 produced it. */
  readonly source: 'location' | 'maddr' | 'static-route' | 'foreign';
  /** A forced next hop (static route): a SIP/SIPS URI with `lr`, to be pushed as the top Route (`withRoute`). */
  readonly route?: string;
  /** A forced next hop to be chosen from this dispatcher set (`selectHop`), then pushed with `withRoute`. */
  readonly dispatcher?: string;
  /** The registration this target came from (location service): flow and edge for delivery (RFC 5626). */
  readonly binding?: BindingData;
}

/** 485 when the AOR names several users (§16.5, §21.4.23). */
export type KnownUser = boolean | 'ambiguous';

export type TargetOutcome =
  | { readonly kind: 'targets'; readonly targets: readonly RequestTarget[] }
  | {
      readonly kind: 'respond';
      readonly status: 404 | 480 | 485 | 403 | 416;
      readonly reason?: string;
      /** A Warning code the response should carry: 380 "SIPS Not Allowed" (RFC 5630) with the 480. */
      readonly warnCode?: 380;
    };

export interface TargetOptions {
  readonly config: Pick<ProxyConfig, 'domains' | 'advertised' | 'selfHosts' | 'selfPorts'>;
  readonly locations: LocationService;
  /** Epoch ms. */
  readonly now: number;
  readonly staticRoutes?: readonly StaticRoute[];
  /** Whether a canonical AOR (`aorOf`) exists (it has credentials, a user-table row, ...). */
  readonly isKnownUser?: (aor: string) => Promise<KnownUser> | KnownUser;
}

/**
 * The target set of a request (§16.5), see the module comment for the rules. `request` must have
 * been through `preprocessRoutes` (§16.4), so that a `maddr` naming us and our own Route are gone.
 * Throws TypeError when a static route's `to` is not a SIP/SIPS URI (check with
 * `validateStaticRoutes` at start-up); store errors propagate.
 */
export async function determineTargets(request: SipMessage, options: TargetOptions): Promise<TargetOutcome> {
  const ruri = request.requestUri;
  const uriText = request.requestUriText;

  // §16.5 ¶2: maddr forces the Request-URI as the only target.
  if (ruri.kind === 'sip' && ruri.maddr !== undefined) {
    return single({ uri: uriText, q: 1, source: 'maddr' });
  }

  // §16.5 ¶4: a domain we are responsible for → location service.
  if (ruri.kind === 'sip' && isServedDomain(ruri.host, options.config) && !isBesideUs(ruri, options.config)) {
    return fromLocation(ruri, options);
  }

  // A static route: Request-URI kept, next hop forced (§16.5 last example, §16.6 step 6).
  if (request.routes.length === 0) {
    const route = (options.staticRoutes ?? []).find((r) => routeMatches(r, ruri));
    if (route !== undefined) {
      if (typeof route.to === 'string') {
        return single({ uri: uriText, q: 1, source: 'static-route', route: looseRouteUri(route.to) });
      }
      return single({ uri: uriText, q: 1, source: 'static-route', dispatcher: route.to.dispatcher });
    }
  }

  // §16.5 ¶3: not ours → the Request-URI, unchanged, is the only target.
  if (ruri.kind !== 'sip' && request.routes.length === 0) {
    return { kind: 'respond', status: 416, reason: `No route for ${ruri.scheme}: URIs` };
  }
  return single({ uri: uriText, q: 1, source: 'foreign' });
}

/**
 * The URI names one of our own hosts with a port that is not ours: another endpoint on our address
 * (a UA on the proxy's machine, whose Contact is `sip:host:port`), not the domain we serve when that
 * domain is our address (the default). Its Request-URI is the target, as for any other host.
 */
function isBesideUs(ruri: SipUri, config: SelfConfig): boolean {
  return ruri.port !== null && isOurHost(ruri.host, config) && !isOurPort(ruri.port, config);
}

/** A Request-URI host of a domain this proxy serves (`config.domains`): case-insensitive, no brackets. */
export function isServedDomain(host: string, config: Pick<ProxyConfig, 'domains'>): boolean {
  const h = stripBrackets(host).toLowerCase();
  if (config.domains.has(h)) return true;
  for (const d of config.domains) if (stripBrackets(d).toLowerCase() === h) return true;
  return false;
}

/**
 * The Request-URI names no domain or host of this proxy (not a served domain, not one of our own
 * hosts), so forwarding it is relaying: the caller's open-relay policy (e.g. 403 unless the sender
 * authenticated as one of our users or came from a trusted peer). tel: and other non-SIP URIs
 * count as foreign: they name no domain of ours either.
 */
export function isForeign(
  request: SipMessage,
  config: Pick<ProxyConfig, 'domains' | 'advertised' | 'selfHosts' | 'selfPorts'>,
): boolean {
  const ruri = request.requestUri;
  if (ruri.kind !== 'sip') return true;
  return !isServedDomain(ruri.host, config) && !isOurHost(ruri.host, config);
}

/**
 * A copy of the request with `routeUri` as its top Route (§16.6 step 6 local policy, §16.5): how a
 * forced next hop (`RequestTarget.route`, or a dispatcher hop) reaches `prepareForward`, which then
 * takes it as the next hop and leaves the Request-URI alone. `lr` is added when missing: the route
 * must be a loose router (§16.6 step 6 "MUST ensure that all such proxies are loose routers").
 */
export function withRoute(request: SipMessage, routeUri: string): SipMessage {
  const copy = request.clone();
  copy.prepend('Route', `<${looseRouteUri(routeUri)}>`);
  return copy;
}

/**
 * A copy of `request` with `routeSet` (Route header values, in order) on top of its Routes: a
 * preloaded route set, such as a registered contact's Path (RFC 3327 §5.3).
 */
export function withRouteSet(request: SipMessage, routeSet: readonly string[]): SipMessage {
  const copy = request.clone();
  for (const value of [...routeSet].reverse()) copy.prepend('Route', value);
  return copy;
}

/** Checks static routes at start-up: a TypeError naming the first bad entry. */
export function validateStaticRoutes(routes: readonly StaticRoute[]): void {
  routes.forEach((r, i) => {
    if (r.match.domain !== undefined && r.match.domain.trim() === '') {
      throw new TypeError(`static route ${i}: empty match.domain`);
    }
    if (typeof r.to === 'string') {
      try {
        looseRouteUri(r.to);
      } catch (e) {
        throw new TypeError(`static route ${i}: ${(e as Error).message}`, { cause: e });
      }
    } else if (typeof r.to.dispatcher !== 'string' || r.to.dispatcher === '') {
      throw new TypeError(`static route ${i}: empty dispatcher name`);
    }
  });
}

async function fromLocation(ruri: SipUri, options: TargetOptions): Promise<TargetOutcome> {
  const found = await lookupTargets(ruri, { locations: options.locations, now: options.now });
  if (found.length === 0) {
    const known = options.isKnownUser === undefined ? true : await options.isKnownUser(aorOf(ruri));
    if (known === 'ambiguous') return { kind: 'respond', status: 485, reason: 'Ambiguous' };
    return known
      ? { kind: 'respond', status: 480, reason: 'Temporarily Unavailable' }
      : { kind: 'respond', status: 404 };
  }
  const usable = ruri.secure ? found.filter(isSecureContact) : found;
  if (usable.length === 0) {
    // RFC 5630: a SIPS request is never delivered over a non-TLS last hop.
    return { kind: 'respond', status: 480, reason: 'SIPS Not Allowed', warnCode: 380 };
  }
  const targets: RequestTarget[] = [];
  const seen: Uri[] = [];
  for (const t of usable) {
    // §16.5: a URI enters the target set once (§19.1.4 equality), on top of lookupTargets' contactKey.
    if (seen.some((u) => uriEquals(u, t.uri))) continue;
    seen.push(t.uri);
    targets.push({ uri: t.uri.toString(), q: t.q, source: 'location', binding: t.data });
  }
  return { kind: 'targets', targets };
}

/** A contact that may serve a SIPS Request-URI: a sips: URI or one that names transport=tls. */
function isSecureContact(t: Target): boolean {
  return t.uri.kind === 'sip' && (t.uri.secure || t.uri.transport === 'tls');
}

function routeMatches(route: StaticRoute, ruri: Uri): boolean {
  const { domain, userPrefix } = route.match;
  if (domain !== undefined) {
    if (ruri.kind !== 'sip' || stripBrackets(ruri.host).toLowerCase() !== stripBrackets(domain).toLowerCase()) {
      return false;
    }
  }
  if (userPrefix !== undefined) {
    const user = userOf(ruri);
    if (user === null || !user.startsWith(userPrefix)) return false;
  }
  return true;
}

const VISUAL_SEPARATORS = /[-.()]/g;

function userOf(uri: Uri): string | null {
  if (uri.kind === 'tel') return uri.number.replace(VISUAL_SEPARATORS, '');
  if (uri.kind !== 'sip' || uri.user === null) return null;
  const user = unescape(uri.user);
  return uri.params.text('user')?.toLowerCase() === 'phone' ? user.split(';')[0]!.replace(VISUAL_SEPARATORS, '') : user;
}

/** `uri` as a SIP/SIPS URI with `lr` (TypeError when it is not one). */
function looseRouteUri(uri: string): string {
  let parsed: Uri;
  try {
    parsed = parseUri(uri);
  } catch {
    throw new TypeError(`"${uri}" is not a URI`);
  }
  if (parsed.kind !== 'sip') throw new TypeError(`"${uri}" is not a SIP or SIPS URI`);
  return parsed.lr ? parsed.toString() : parsed.with({ params: parsed.params.with('lr', null) }).toString();
}

function single(target: RequestTarget): TargetOutcome {
  return { kind: 'targets', targets: [target] };
}
