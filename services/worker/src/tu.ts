import {
  type DigestAlgorithm,
  type HmacNonceOptions,
  type NonceStore,
  type UserDirectory,
  challengeHeaders,
  challengeStatus,
  createChallenge,
  removeCredentialRows,
  verify,
} from '@sipedge/auth';
import type { InboundMeta } from '@sipedge/handoff';
import {
  type DispatcherHealth,
  type DispatcherSet,
  EMPTY_HEALTH,
  type KnownUser,
  type NextHop,
  type ProxyConfig,
  type RouteTokenKeys,
  type StaticRoute,
  type TopologyHiding,
  determineTargets,
  hidesTopology,
  type Arrival,
  type TokenFlow,
  dialogRoute,
  pathRoute,
  pathToken,
  recordRouteUri,
  groupTargets,
  isAddressedToSelf,
  preprocessRoutes,
  prepareForward,
  dispatchOrder,
  validateRequest,
  withRoute,
  withRouteSet,
} from '@sipedge/proxy';
import { type BindingData, processRegister } from '@sipedge/registrar';
import {
  ALLOW,
  type HeaderList,
  type SipMessage,
  type SipUri,
  buildResponse,
  parseMessage,
  isWebSocket,
  parseUri,
  statelessToTag,
} from '@sipedge/sip';
import type { LocationStore } from '@sipedge/store';
import { dialogId } from './dialogs.js';
import type { Decision } from './engine.js';
import type { Hop } from './record.js';

export interface AuthSettings {
  realm: string;
  users: UserDirectory;
  nonceStore: NonceStore;
  hmac: HmacNonceOptions;
  algorithms: DigestAlgorithm[];
  nonceTtlMs: number;
  /** Challenge REGISTER (401, §22.2). */
  register: boolean;
  /** Challenge initial requests from untrusted sources before routing them (407, §22.3). */
  proxy: boolean;
  /** The fleet's bans: a banned source's credentials are not even looked at (`Bans` of `@sipedge/abuse`). */
  bans?: { isBanned(address: string, now: number): boolean };
  /** Counts failed authentications and bans sources that fail too often (`AuthFailures` of `@sipedge/abuse`). */
  failures?: { failed(address: string, realm: string, username: string | undefined, now: number): Promise<boolean> };
}

export interface TuDeps {
  proxy: ProxyConfig;
  locations: LocationStore;
  /** Sources allowed to relay to foreign domains without authenticating (no open relay). */
  isTrusted: (address: string) => boolean;
  /** The fleet's keys for the tokens in our Record-Route (dialog-trust.ts in libs/proxy). */
  routeTokens: RouteTokenKeys;
  /**
   * Topology hiding (topology.ts in libs/proxy): between which sides a request's hops hide each
   * side's Vias, Record-Routes and Contacts from the other (`isTrusted` tells the sides); off when absent.
   */
  topologyHiding?: TopologyHiding;
  auth?: AuthSettings;
  registrar: { minExpires?: number; maxExpires?: number; defaultExpires?: number; maxContacts?: number };
  /** Resolves a next hop to addresses in the order to try (RFC 3263, see `resolverFor`); empty when unresolvable. */
  resolve: (hop: NextHop) => Promise<Hop[]>;
  /** Static routes for requests outside the served domains (§16.5). */
  staticRoutes?: readonly StaticRoute[];
  /** Named dispatcher sets that static routes may name. */
  dispatchers?: Readonly<Record<string, DispatcherSet>>;
  /** Which dispatcher hops are down (OPTIONS probing, probe.ts); every hop up when absent. */
  dispatchHealth?: () => DispatcherHealth;
  /** The round-robin position of a dispatcher set (incremented per call); 0 when absent. */
  dispatchCounter?: (set: string) => number;
  /** Whether an AOR exists (404 vs 480 when it has no bindings, §16.5). */
  isKnownUser?: (aor: string) => KnownUser | Promise<KnownUser>;
  /**
   * Build every local response for sending without a transaction (stateless proxy, §16.11): a
   * To-tag derived from the request, so retransmissions get the identical response.
   */
  statelessResponses?: boolean;
}

/** The TU's first, quick part of a decision: a final one, or the routing still to do (`route`). */
export type Preparation = { kind: 'decided'; decision: Decision } | { kind: 'route'; route: () => Promise<Decision> };

const decided = (decision: Decision): Preparation => ({ kind: 'decided', decision });

/** The TU's decision for a new request: `prepare`, then its routing when it is proxied. */
export async function decide(request: SipMessage, origin: InboundMeta, deps: TuDeps, now: number): Promise<Decision> {
  const prepared = await prepare(request, origin, deps, now);
  return prepared.kind === 'decided' ? prepared.decision : prepared.route();
}

/**
 * The transaction user for a new request, in a fixed order: validation (§16.3), requests
 * addressed to the proxy itself (§8.2.1, §11), the registrar (§10.3), route pre-processing and dialog
 * trust (§16.4), authentication — decided at once — then, as `route`, target determination
 * (§16.5) with the relay policy and next-hop resolution, which may wait on the location service
 * and DNS. Reads shared state (locations, nonces) but keeps none: the caller commits the decision.
 */
export async function prepare(
  request: SipMessage,
  origin: InboundMeta,
  deps: TuDeps,
  now: number,
): Promise<Preparation> {
  const stateless = deps.statelessResponses === true;
  const respond = (status: number, options: { reason?: string; headers?: HeaderList } = {}): Decision => ({
    kind: 'respond',
    response: parseMessage(
      buildResponse(request, status, {
        ...options,
        ...(stateless ? { toTag: statelessToTag(request) } : {}),
      }).toBuffer(),
    ),
    ...(stateless ? { stateless: true } : {}),
  });
  const valid = validateRequest(request, deps.proxy);
  if (!valid.ok) return decided(respond(valid.status, { reason: valid.reason, headers: valid.headers }));

  const domain = requestDomain(request);
  const served = domain !== undefined && deps.proxy.domains.has(domain);
  if (request.method === 'REGISTER' && served) return decided(await register(request, origin, deps, now, respond));
  if (isAddressedToSelf(request, deps.proxy) && request.method !== 'REGISTER') {
    // We hold no dialogs, so a request inside one (a To tag) matches none: 481 (§12.2.2).
    if (request.to.tag !== undefined) return decided(respond(481, { reason: 'Call/Transaction Does Not Exist' }));
    // OPTIONS to the proxy is answered 200 with Allow (§11); other methods 405 (§8.2.1).
    return decided(
      request.method === 'OPTIONS'
        ? respond(200, { headers: [['Allow', ALLOW]] })
        : respond(405, { headers: [['Allow', 'OPTIONS']] }),
    );
  }

  const preprocessed = preprocessRoutes(request, deps.proxy, { transport: origin.transport, port: origin.local.port });
  // §12, §16.4: inside a dialog we serve only with a To tag and our Record-Routes' tokens for it;
  // a Route that merely names us makes an initial request (authentication and no relay apply).
  const dialog = dialogRoute(deps.routeTokens, request, preprocessed, deps.proxy, arrivalOf(origin));
  const inDialog = dialog !== undefined;
  // RFC 3327: a request the registrar's side sends a UA through the Path we added to its REGISTER.
  const pathFlow = inDialog ? undefined : pathRoute(deps.routeTokens, preprocessed, deps.proxy);
  const template = dialog?.request ?? preprocessed.request;
  const trusted = deps.isTrusted(origin.source.address);
  let authenticated = false;
  if (deps.auth?.proxy === true && !trusted && !inDialog && request.method !== 'ACK' && request.method !== 'CANCEL') {
    const checked = await authenticate(template, 'proxy-authorization', deps.auth, origin.source.address, now);
    if (checked.kind === 'banned') return decided({ kind: 'ignore' });
    if (checked.kind === 'challenge') return decided(challenge(request, checked.challenge));
    authenticated = true;
  }
  // No open relay: foreign domains only for trusted sources, dialogs we Record-Routed, or
  // authenticated users — and a CANCEL, which cannot be challenged (§22.1), follows its INVITE.
  const mayRelay =
    trusted ||
    inDialog ||
    pathFlow !== undefined ||
    authenticated ||
    (deps.auth?.proxy === true && request.method === 'CANCEL');

  // What is left may be slow (the location service, DNS): the caller may take the request first
  // (an INVITE's 100 Trying, §17.2.1; retransmissions absorbed) and route it then.
  return {
    kind: 'route',
    route: async () => {
      const outcome = await determineTargets(template, {
        config: deps.proxy,
        locations: deps.locations,
        now,
        staticRoutes: deps.staticRoutes ?? [],
        // No user enumeration: with authentication configured, an untrusted source that has not
        // authenticated is not told whether a user exists (480 for all users without bindings).
        ...(deps.isKnownUser === undefined || (deps.auth !== undefined && !trusted && !authenticated && !inDialog)
          ? {}
          : { isKnownUser: deps.isKnownUser }),
      });
      if (outcome.kind === 'respond') return respond(outcome.status, { reason: outcome.reason });
      let forwardTemplate = withOurPath(template, origin, deps);
      // The flow a dialog's Record-Route or our Path names: the request goes to its UA on it.
      const requestFlow = dialog?.flow ?? pathFlow;
      /** `flow`: the connection the contact registered over; `flowOnly`: an RFC 5626 flow, nothing else may reach it. */
      /** `path`: the contact's Path (RFC 3327), its preloaded route set. */
      const targets: {
        uri: string;
        q: number;
        flow?: Hop;
        flowOnly?: boolean;
        dispatch?: string[];
        path?: string[];
      }[] = [];
      for (const target of outcome.targets) {
        // A maddr Request-URI (§16.5) is the only target and may point anywhere: relaying too.
        if ((target.source === 'foreign' || target.source === 'maddr') && !mayRelay) {
          return respond(403, { reason: 'Relaying Denied' });
        }
        if (target.dispatcher !== undefined) {
          const set = deps.dispatchers?.[target.dispatcher];
          const counter = set === undefined ? 0 : (deps.dispatchCounter?.(set.name) ?? 0);
          const dispatch =
            set === undefined
              ? []
              : dispatchOrder(set, {
                  counter,
                  callId: request.callId,
                  now,
                  health: deps.dispatchHealth?.() ?? EMPTY_HEALTH,
                });
          if (dispatch.length === 0)
            return respond(503, { reason: 'No Next Hop Available', headers: [['Retry-After', '5']] });
          targets.push({ uri: target.uri, q: target.q, dispatch });
          continue;
        }
        if (target.route !== undefined) forwardTemplate = withRoute(forwardTemplate, target.route);
        // RFC 3327 §5.3: a contact registered through proxies that added Path is reached through them;
        // reaching it (its NAT, its connection) is the first of them's business.
        const path = target.binding?.path;
        if (path !== undefined && !forwardTemplate.has('route')) {
          targets.push({ uri: target.uri, q: target.q, path: [...path] });
          continue;
        }
        // A Route left on the request is its next hop (§16.6 steps 6–7): the target's flow is the
        // last hop's business, not ours.
        const flow = forwardTemplate.has('route')
          ? undefined
          : requestFlow !== undefined
            ? hopOfFlow(requestFlow)
            : bindingFlow(target.binding);
        // A UDP flow is a NAT binding and a WebSocket client accepts no connections (RFC 7118 §5): the
        // Contact behind either is not reachable, so nothing replaces the flow; an RFC 5626 flow
        // (reg-id) may not be replaced either (§5.3).
        const flowOnly =
          flow?.transport === 'udp' ||
          (flow !== undefined && isWebSocket(flow.transport)) ||
          target.binding?.regId !== undefined;
        targets.push({ uri: target.uri, q: target.q, ...(flow === undefined ? {} : { flow, flowOnly }) });
      }

      // RFC 5658, RFC 5626 §5.3: the upstream side of our double Record-Route names the flow this
      // request came on, so that the dialog's requests from downstream reach the UA over it.
      const recordRoute = deps.proxy.recordRoute ? { transport: origin.transport, flow: flowOf(origin) } : null;
      // Topology hiding rides on our Record-Route (what is hidden comes back through it), and a
      // REGISTER creates no dialog: its Contact is what the registrar must store.
      const hides = recordRoute !== null && request.method !== 'REGISTER';
      const hide = (hop: Hop): Hop =>
        hides && hidesTopology(deps.topologyHiding, deps.isTrusted, origin.source.address, hop.address)
          ? { ...hop, hidden: true }
          : hop;
      const grouped = groupTargets(targets);
      const resolved: { uri: string; q: number; group: number; hops: Hop[] }[] = [];
      for (const g of grouped) {
        const target = targets.find((t) => t.uri === g.uri)!;
        // A contact registered over a connection is tried on that connection first (it may be the only
        // way through a NAT); if it is gone, the Contact URI is resolved and connected to (§18.1.1,
        // RFC 3263) — except for an RFC 5626 flow (reg-id), which nothing else may replace (§5.3).
        const hops =
          target.dispatch !== undefined
            ? await dispatchHops(forwardTemplate, g.uri, target.dispatch, deps)
            : target.path !== undefined
              ? await pathHops(forwardTemplate, g.uri, target.path, deps)
              : [
                  ...(target.flow === undefined ? [] : [target.flow]),
                  ...(target.flowOnly === true
                    ? []
                    : await deps.resolve(nextHopOf(forwardTemplate, g.uri, deps.proxy))),
                ];
        if (hops.length > 0) resolved.push({ uri: g.uri, q: target.q, group: g.group, hops: hops.map(hide) });
      }
      if (resolved.length === 0) return respond(500, { reason: 'Next Hop Not Resolvable' });
      const endsDialog =
        inDialog && request.method === 'BYE' ? dialogId(request.callId, request.from.tag, request.to.tag) : undefined;
      return {
        kind: 'proxy',
        template: forwardTemplate,
        targets: resolved,
        recordRoute,
        ...(endsDialog === undefined ? {} : { endsDialog }),
      };
    },
  };
}

/**
 * RFC 3327 §5.1: a REGISTER for another registrar, from a UA that supports Path, gets our Path URI
 * on top, its token naming the flow the REGISTER came on: the registrar then sends requests for
 * the UA through us, and we send them on that flow (`pathRoute`). Anything else is unchanged.
 */
function withOurPath(request: SipMessage, origin: InboundMeta, deps: TuDeps): SipMessage {
  if (request.method !== 'REGISTER' || !request.supported.some((tag) => tag.toLowerCase() === 'path')) return request;
  const copy = request.clone();
  copy.prepend('Path', `<${recordRouteUri(deps.proxy, false, pathToken(deps.routeTokens, flowOf(origin)))}>`);
  return copy;
}

/** Where a request came from, as dialog-trust.ts compares it with a token's flow. */
export function arrivalOf(origin: InboundMeta): Arrival & Pick<TokenFlow, 'transport'> {
  const { address, port } = origin.source;
  return {
    transport: origin.transport,
    address,
    port,
    ...(origin.flowId === undefined ? {} : { flowId: origin.flowId }),
  };
}

/** The flow a request came on: its connection (TCP/TLS) or its source (UDP), through the edge that received it. */
export function flowOf(origin: InboundMeta): TokenFlow {
  return { ...arrivalOf(origin), edgeId: origin.edgeId };
}

/** The hop that sends on a token's flow (the edge holding its connection, or facing its NAT binding). */
export function hopOfFlow(flow: TokenFlow): Hop {
  return {
    transport: flow.transport as Hop['transport'],
    address: flow.address,
    port: flow.port,
    flow: true,
    ...(flow.edgeId === undefined ? {} : { edgeId: flow.edgeId }),
    ...(flow.flowId === undefined ? {} : { flowId: flow.flowId }),
  };
}

/**
 * The flow a registered contact is reached on, when it has one: the connection it registered over
 * (TCP/TLS), or over UDP the address its REGISTER came from when the registrar found it behind a
 * NAT (`BindingData.nat`): requests go there, never to the private Contact.
 */
function bindingFlow(binding: BindingData | undefined): Hop | undefined {
  const source = binding?.source;
  if (binding === undefined || source === undefined) return undefined;
  if (binding.flowId === undefined && !(source.transport === 'udp' && binding.nat === true)) return undefined;
  return hopOfFlow({
    transport: source.transport as TokenFlow['transport'],
    address: source.address,
    port: source.port,
    ...(binding.edgeId === undefined ? {} : { edgeId: binding.edgeId }),
    ...(binding.flowId === undefined ? {} : { flowId: binding.flowId }),
  });
}

/** The tuples of a Path's first URI (RFC 3327 §5.3), each carrying the Path as its preloaded route set. */
async function pathHops(template: SipMessage, target: string, path: string[], deps: TuDeps): Promise<Hop[]> {
  const tuples = await deps.resolve(nextHopOf(withRouteSet(template, path), target, deps.proxy));
  return tuples.map((tuple) => ({ ...tuple, routeSet: path }));
}

/** The tuples of every dispatcher hop in dispatch order, each carrying its hop as the Route to push. */
async function dispatchHops(template: SipMessage, target: string, dispatch: string[], deps: TuDeps): Promise<Hop[]> {
  const hops: Hop[] = [];
  for (const route of dispatch) {
    const tuples = await deps.resolve(nextHopOf(withRoute(template, route), target, deps.proxy));
    hops.push(...tuples.map((tuple) => ({ ...tuple, route })));
  }
  return hops;
}

function nextHopOf(template: SipMessage, target: string, config: ProxyConfig): NextHop {
  return prepareForward(template, parseUri(target) as SipUri, { config, recordRoute: false }).nextHop;
}

function requestDomain(request: SipMessage): string | undefined {
  const uri = request.requestUri;
  return uri.kind === 'sip' ? uri.hostname : undefined;
}

async function register(
  request: SipMessage,
  origin: InboundMeta,
  deps: TuDeps,
  now: number,
  respond: (status: number, options?: { reason?: string; headers?: HeaderList }) => Decision,
): Promise<Decision> {
  let authorizedUser: { username: string } | undefined;
  if (deps.auth?.register === true) {
    const checked = await authenticate(request, 'authorization', deps.auth, origin.source.address, now);
    if (checked.kind === 'banned') return { kind: 'ignore' };
    if (checked.kind === 'challenge') return challenge(request, checked.challenge);
    authorizedUser = { username: checked.username };
  }
  const outcome = await processRegister(request, {
    locations: deps.locations,
    now,
    domains: [...deps.proxy.domains],
    ...deps.registrar,
    ...(authorizedUser === undefined ? {} : { authorizedUser }),
    ...(deps.statelessResponses === true ? { toTag: statelessToTag(request) } : {}),
    registration: {
      edgeId: origin.edgeId,
      source: { transport: origin.transport, address: origin.source.address, port: origin.source.port },
      ...(origin.flowId === undefined ? {} : { flowId: origin.flowId }),
    },
  });
  if (outcome.kind === 'response') {
    const natted = outcome.behindNat;
    const keepalive =
      natted === undefined || origin.transport !== 'udp'
        ? undefined
        : { destination: { ...origin.source }, until: natted.until, aor: natted.aor, contacts: [...natted.contacts] };
    return {
      kind: 'respond',
      response: outcome.response,
      ...(deps.statelessResponses === true ? { stateless: true } : {}),
      ...(keepalive === undefined ? {} : { keepalive }),
    };
  }
  return respond(404);
}

/** What digest verification decided: authenticated, a challenge to send, or a banned source to ignore. */
type Authentication =
  | { kind: 'ok'; username: string }
  | { kind: 'challenge'; challenge: { status: number; headers: HeaderList } }
  | { kind: 'banned' };

/**
 * Digest verification (§22). A banned source is ignored before its credentials are looked at; a
 * failed verification (wrong response, unknown user, replayed nonce count) is counted against the
 * source and the user, and the source that crosses a threshold is banned before it hears back.
 * An unknown user and a wrong password get the same challenge (no user enumeration).
 */
async function authenticate(
  request: SipMessage,
  header: 'authorization' | 'proxy-authorization',
  auth: AuthSettings,
  source: string,
  now: number,
): Promise<Authentication> {
  if (auth.bans?.isBanned(source, now) === true) return { kind: 'banned' };
  const options = { nonceStore: auth.nonceStore, hmac: auth.hmac, now };
  const result = await verify({ ...options, request, header, realm: auth.realm, users: auth.users });
  if (result.outcome === 'ok') {
    // Our realm's credentials are consumed; other realms' go on untouched (§22.3).
    if (header === 'proxy-authorization') removeCredentialRows(request, header, result.ourRows);
    return { kind: 'ok', username: result.username };
  }
  if (result.outcome === 'failed' || result.outcome === 'replay') {
    const banned = await auth.failures?.failed(source, auth.realm, result.username, now);
    if (banned === true) return { kind: 'banned' };
  }
  const created = await createChallenge({
    ...options,
    realm: auth.realm,
    algorithms: auth.algorithms,
    nonceTtlMs: auth.nonceTtlMs,
    stale: result.outcome === 'stale',
    // The same request (a retransmission) gets the same challenge (§8.2.7).
    seed: statelessToTag(request),
  });
  return {
    kind: 'challenge',
    challenge: { status: challengeStatus(header), headers: challengeHeaders(header, created) },
  };
}

/** A digest challenge answered without state: deterministic To-tag, no record (§8.2.7). */
function challenge(request: SipMessage, c: { status: number; headers: HeaderList }): Decision {
  const response = buildResponse(request, c.status, { headers: c.headers, toTag: statelessToTag(request) });
  return { kind: 'respond', response: parseMessage(response.toBuffer()), stateless: true };
}
