import {
  type HeaderList,
  type NameAddr,
  type SipMessage,
  SipParseError,
  SipSyntaxError,
  buildResponse,
  parseDeltaSeconds,
  parseNameAddr,
  stripBrackets,
} from '@sipedge/sip';
import { isPrivateAddress } from './private-address.js';
import { type BindingData, type RegistrationContext, decodeBindingData, encodeBindingData } from './binding-data.js';
import { aorOf, aorUser, contactKey } from './keys.js';
import type { Binding, BindingUpdate, LocationService, RegisterOp } from '@sipedge/ports';

export interface RegisterOptions {
  readonly locations: LocationService;
  /** Epoch ms: the registrar reads no clock. */
  readonly now: number;
  /** Host names (or IP addresses) of the domains whose location service this registrar keeps. */
  readonly domains: readonly string[];
  /** Shortest interval accepted, in seconds (423 below it, §10.3 step 7); default 60, at most 3600. */
  readonly minExpires?: number;
  /** Longest interval granted; longer requests are shortened to it. Default 3600. */
  readonly maxExpires?: number;
  /** Interval when neither the contact nor the request says one. Default 3600. */
  readonly defaultExpires?: number;
  /**
   * Bindings one AOR may hold (Kamailio's max_contacts): a REGISTER that would add more gets 403,
   * so that one account cannot make every call to it fork to hundreds of addresses. Default 10.
   */
  readonly maxContacts?: number;
  /** Option tags we support: a Require naming any other gets 420 (§10.3 step 2). Default none. */
  readonly supported?: readonly string[];
  /**
   * Who authenticated (§10.3 step 3, done by the caller's digest code). Absent (undefined): the
   * deployment does not authenticate REGISTER and anyone may register any AOR of a served domain.
   * null: authentication is in use but this request carries no valid credentials: 403, fail closed
   * (the caller should have challenged with 401 instead of calling).
   */
  readonly authorizedUser?: { readonly username: string } | null;
  /** Authorisation (§10.3 step 4); default `ownAorOnly`: a user may register only their own AOR. */
  readonly mayRegister?: (username: string, aor: string) => boolean;
  /** Where the REGISTER came from; stored with each binding it adds or refreshes. */
  readonly registration?: RegistrationContext;
  /** To-tag of the response (default: random), e.g. to answer retransmissions identically. */
  readonly toTag?: string;
}

export type RegisterOutcome =
  | {
      readonly kind: 'response';
      readonly response: SipMessage;
      /**
       * Contacts this REGISTER bound from behind a NAT (`BindingData.nat`): their contact keys and
       * the latest end of their bindings, for keep-alives to the source (RFC 5626 §4.4).
       */
      readonly behindNat?: { readonly aor: string; readonly contacts: readonly string[]; readonly until: number };
    }
  /** The Request-URI names no domain we serve: the caller proxies the REGISTER (§10.3 step 1). */
  | { readonly kind: 'not-ours' };

/** The default authorisation: the AOR's user part (unescaped) is the authenticated user name. */
export function ownAorOnly(username: string, aor: string): boolean {
  return aorUser(aor) === username;
}

/**
 * Whether a contact must be reached through the address its REGISTER came from (a NAT binding),
 * as Kamailio's nathelper tests it (`nat_uac_test` flags 1, 2 and 16): the request left from another
 * address or port than its top Via says (§18.2.1: a `received`/`rport` the UA did not know), or the
 * Contact names a private address other than the source; or the UA asks for it (RFC 5626 §5.1:
 * `ob` or `reg-id`). A Contact naming another public host is a third-party registration (§10.2),
 * reached at that Contact.
 */
function behindNat(request: SipMessage, contact: NameAddr, source: { address: string; port: number }): boolean {
  const via = request.topVia;
  const uri = contact.uri;
  if (uri.kind !== 'sip') return false;
  const sameHost = (host: string) => stripBrackets(host).toLowerCase() === source.address.toLowerCase();
  const viaMoved =
    via !== undefined && (!sameHost(via.host) || (via.port ?? (via.transport === 'TLS' ? 5061 : 5060)) !== source.port);
  const asksForFlow = uri.params.has('ob') || contact.params.has('reg-id');
  const contactHost = uri.maddr ?? uri.host;
  return viaMoved || (isPrivateAddress(contactHost) && !sameHost(contactHost)) || asksForFlow;
}

const HOUR = 3600;
const DEFAULT_MAX_CONTACTS = 10;
const Q_VALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const REG_ID = /^[1-9]\d{0,9}$/;

interface Settings {
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContacts: number;
}

/**
 * Processes a REGISTER per RFC 3261 §10.3 against the location service and returns the response
 * to send (or `not-ours`). Every 4xx leaves the bindings unchanged. Errors of the store (e.g.
 * `StoreUnavailableError`) propagate: the caller decides between 500 and 503 + Retry-After.
 * Throws a TypeError for a request that is not a REGISTER and a RangeError for bad settings.
 */
export async function processRegister(request: SipMessage, options: RegisterOptions): Promise<RegisterOutcome> {
  if (!request.isRequest || request.method !== 'REGISTER') throw new TypeError('processRegister needs a REGISTER');
  const settings = checkSettings(options);
  const domains = new Set(options.domains.map(hostOf));
  const answer = (status: number, headers?: HeaderList, reason?: string): RegisterOutcome => ({
    kind: 'response',
    response: buildResponse(request, status, { headers, reason, toTag: options.toTag }),
  });
  try {
    // Step 1: a Request-URI outside our domains is someone else's registrar: proxy it.
    const target = request.requestUri;
    if (target.kind !== 'sip' || !domains.has(hostOf(target.host))) return { kind: 'not-ours' };

    // Step 2: every Require tag must be one we support.
    const supported = new Set((options.supported ?? []).map((t) => t.toLowerCase()));
    const unsupported = [...new Set(request.require.filter((t) => !supported.has(t.toLowerCase())))];
    if (unsupported.length > 0) return answer(420, [['Unsupported', unsupported.join(', ')]]);

    // Step 5 (read first: authorisation needs the AOR): To must hold a sip/sips URI.
    const to = request.to.uri;
    if (to.kind !== 'sip') return answer(400, undefined, 'AOR Must Be A SIP Or SIPS URI');
    const aor = aorOf(to);

    // Steps 3-4: authentication is the caller's; authorisation is ours.
    const user = options.authorizedUser;
    if (user === null) return answer(403);
    if (user !== undefined && !(options.mayRegister ?? ownAorOnly)(user.username, aor)) return answer(403);

    // Step 5: the AOR must belong to a domain we serve. Any user of it may register: there is no
    // user list, so no 404 for unknown users.
    if (!domains.has(hostOf(to.host))) return answer(404);

    // RFC 3327 §5.3: the Path is stored with the bindings; each value must be a SIP URI.
    const path = request.values('path');
    if (path.some((value) => !isSipNameAddr(value))) return answer(400, undefined, 'Bad Path');

    const now = options.now;
    const contacts = request.contacts;
    if (contacts.length === 0) {
      // A query (§10.2.3): no change, the current bindings.
      return ok(request, options, await options.locations.lookup(aor, now));
    }

    // Steps 6-7.
    const cseq = request.cseq.seq;
    const callId = request.callId;
    let op: RegisterOp;
    if (contacts.includes('*')) {
      if (contacts.length !== 1 || request.expires !== 0) {
        return answer(400, undefined, 'Contact * Requires Expires 0 And No Other Contact');
      }
      op = { type: 'remove-all', callId, cseq };
    } else {
      const updates = new Map<string, BindingUpdate>();
      let tooBrief = false;
      for (const contact of contacts as NameAddr[]) {
        const requested = requestedExpires(contact, request.expires, settings.defaultExpires);
        if (requested > 0 && requested < settings.minExpires && requested < HOUR) tooBrief = true;
        const expires = Math.min(requested, settings.maxExpires);
        const q = qValue(contact);
        if (q === undefined) return answer(400, undefined, 'Bad q-value');
        const uriKey = contactKey(contact.uri);
        // The same contact twice in one request: the later value wins.
        updates.set(uriKey, {
          uriKey,
          contact: contact.withParams(contact.params.with('expires', String(expires))).toString(),
          expires,
          q,
          data: encodeBindingData(bindingData(request, contact, options.registration, path)),
        });
      }
      if (tooBrief) return answer(423, [['Min-Expires', String(settings.minExpires)]]);
      op = { type: 'update', callId, cseq, bindings: [...updates.values()], maxBindings: settings.maxContacts };
    }
    const result = await options.locations.register(aor, op, now);
    if (!result.ok && result.reason === 'too-many') return answer(403, undefined, 'Too Many Contacts');
    // §10.3 steps 6-7: an older or repeated CSeq for the same Call-ID fails the whole request. 400,
    // as Kamailio and OpenSIPS answer it: the request itself is stale, retrying it cannot succeed.
    if (!result.ok) return answer(400, undefined, 'Invalid CSeq Number');
    const natted =
      op.type === 'update' ? op.bindings.filter((b) => b.expires > 0 && decodeBindingData(b.data).nat) : [];
    const outcome = ok(request, options, result.bindings);
    if (natted.length === 0 || outcome.kind !== 'response') return outcome;
    const until = now + Math.max(...natted.map((b) => b.expires)) * 1000;
    return { ...outcome, behindNat: { aor, contacts: natted.map((b) => b.uriKey), until } };
  } catch (e) {
    // A header we read could not be parsed (a message that passed validateMessage has none).
    if (e instanceof SipParseError) return answer(400, undefined, e.reason);
    throw e;
  }
}

/**
 * Step 8: 200 with every current binding (its remaining time as `expires`) and a Date; no
 * Record-Route. RFC 3327 §5.3: the request's Path is copied into it when the UA supports Path.
 */
function ok(request: SipMessage, options: RegisterOptions, bindings: readonly Binding[]): RegisterOutcome {
  const now = options.now;
  const headers: [string, string][] = bindings.map((b) => ['Contact', renderBinding(b, now)]);
  headers.push(['Date', new Date(now).toUTCString()]);
  if (request.supported.some((tag) => tag.toLowerCase() === 'path')) {
    for (const value of request.values('path')) headers.push(['Path', value]);
  }
  return { kind: 'response', response: buildResponse(request, 200, { headers, toTag: options.toTag }) };
}

function renderBinding(b: Binding, now: number): string {
  const remaining = String(Math.max(1, Math.ceil((b.expiresAt - now) / 1000)));
  let contact: NameAddr;
  try {
    contact = parseNameAddr(b.contact);
  } catch {
    return b.contact;
  }
  return contact.withParams(contact.params.with('expires', remaining)).toString();
}

/**
 * §10.3 step 7: the contact's `expires`, else the Expires header, else the default. A malformed
 * `expires` parameter (not delta-seconds, e.g. an RFC 2543 date) counts as the default, as §20.19
 * says of a malformed Expires header (3600 there; the configured default here).
 */
function requestedExpires(contact: NameAddr, header: number | undefined, fallback: number): number {
  const param = contact.params.get('expires');
  if (param === undefined) return header ?? fallback;
  if (param === null) return fallback;
  try {
    return parseDeltaSeconds(param, 'expires');
  } catch (e) {
    if (e instanceof SipSyntaxError) return fallback;
    throw e;
  }
}

/** The contact's q (§20.10 qvalue, 0 to 1 with up to three decimals), 1 when absent, undefined when malformed. */
function qValue(contact: NameAddr): number | undefined {
  const q = contact.params.get('q');
  if (q === undefined) return 1;
  return q !== null && Q_VALUE.test(q) ? Number(q) : undefined;
}

function bindingData(
  request: SipMessage,
  contact: NameAddr,
  registration: RegistrationContext | undefined,
  path: readonly string[],
): BindingData {
  const data: { -readonly [K in keyof BindingData]: BindingData[K] } = {};
  if (path.length > 0) data.path = [...path];
  if (registration?.source !== undefined && behindNat(request, contact, registration.source)) data.nat = true;
  if (registration?.flowId !== undefined) data.flowId = registration.flowId;
  if (registration?.edgeId !== undefined) data.edgeId = registration.edgeId;
  if (registration?.source !== undefined) data.source = { ...registration.source };
  const instance = contact.params.text('+sip.instance');
  if (instance !== undefined) data.instance = instance;
  const regId = contact.params.text('reg-id');
  if (regId !== undefined && REG_ID.test(regId) && Number(regId) < 2 ** 31) data.regId = Number(regId);
  return data;
}

function isSipNameAddr(value: string): boolean {
  try {
    return parseNameAddr(value).uri.kind === 'sip';
  } catch {
    return false;
  }
}

function hostOf(host: string): string {
  return stripBrackets(host).toLowerCase();
}

function checkSettings(options: RegisterOptions): Settings {
  const minExpires = options.minExpires ?? 60;
  const maxExpires = options.maxExpires ?? 3600;
  const defaultExpires = options.defaultExpires ?? 3600;
  const maxContacts = options.maxContacts ?? DEFAULT_MAX_CONTACTS;
  if (!Number.isSafeInteger(maxContacts) || maxContacts < 1) throw new RangeError('maxContacts must be at least 1');
  for (const [name, v] of Object.entries({ minExpires, maxExpires, defaultExpires })) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }
  if (minExpires > HOUR) throw new RangeError('minExpires must not exceed 3600 (§10.3 step 7)');
  if (defaultExpires < 1 || defaultExpires < minExpires || defaultExpires > maxExpires) {
    throw new RangeError('defaultExpires must be at least 1 and minExpires, and at most maxExpires');
  }
  return { minExpires, maxExpires, defaultExpires, maxContacts };
}
