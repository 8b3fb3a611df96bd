import type { SipMessage } from '@sipedge/sip';
import { loopHashFor, parseOurBranch } from './branch.js';
import { type SelfConfig, isOurUri, isOurVia } from './self.js';
import type { ProxyConfig } from './types.js';

/** Which §16.3 check refused a request. */
export type ValidationCheck = 'uri-scheme' | 'max-forwards' | 'loop' | 'proxy-require';

/**
 * The outcome of §16.3. On failure the proxy acts as a UAS (§8.2) and answers with `status`,
 * `reason` (default phrase when absent) and the extra `headers` — except for an ACK, which is
 * never answered (§17): the caller drops it.
 */
export type ValidationResult =
  { ok: true } | { ok: false; check: ValidationCheck; status: number; reason?: string; headers?: [string, string][] };

/**
 * Request validation (§16.3) of a request as received, before §16.4:
 *
 * 1. Reasonable syntax: done by the parser (`@sipedge/sip`), which refuses malformed Via, From, To,
 *    Call-ID, CSeq, Max-Forwards, Route, Proxy-Require before a request gets here. Unknown methods
 *    and header fields are never a reason to refuse (§16.3 step 1).
 * 2. URI scheme: sip and sips are understood. tel (RFC 3966) is understood when the request has a
 *    Route value that does not name us, so there is a next hop to send it to unchanged (a gateway
 *    behind a preloaded Route, §16.12 step 3); without one this proxy has nothing to route a tel URI
 *    on (no ENUM, no tel location service, RFC 3263 resolves SIP URIs only) and treats it like any
 *    other scheme it cannot use: 416 (Unsupported URI Scheme). So does a Route value that is not a
 *    SIP or SIPS URI: a route set names proxies (§16.12, §20.34), and nothing could be sent to it.
 * 3. Max-Forwards 0: 483 (Too Many Hops), whatever the method. An OPTIONS addressed to this
 *    proxy may instead be answered as its final recipient (§11): the caller checks
 *    `isAddressedToSelf` first.
 * 4. Loop detection: a Via with our sent-by whose branch is one of ours and carries the loop
 *    hash this request computes (`loopHash`, or `statelessLoopHash` for a stateless branch) means
 *    the request has been here before unchanged: 482 (Loop Detected). The same sent-by with another
 *    hash is a spiral (the Request-URI or a routing field changed) and passes.
 * 5. Proxy-Require: option tags not in `config.supported` (compared case-insensitively, tokens
 *    are, §7.3.1) give 420 (Bad Extension) with `Unsupported` listing them as written, each once.
 *    Ignored for CANCEL and ACK (§8.2.2.3: "MUST be ignored" in a CANCEL and a non-2xx ACK; a 2xx
 *    ACK may only repeat its INVITE's values, which passed this check already).
 * 6. Proxy-Authorization: not here (libs/auth, §22.3).
 *
 * Merged requests (same Call-ID, From tag and CSeq, different branches) are not an error (§16.3):
 * nothing looks for them.
 */
export function validateRequest(request: SipMessage, config: ProxyConfig): ValidationResult {
  // Step 2.
  const uri = request.requestUri;
  if (uri.kind === 'absolute' || (uri.kind === 'tel' && !hasForeignRoute(request, config))) {
    return { ok: false, check: 'uri-scheme', status: 416 };
  }
  if (request.routes.some((route) => route.uri.kind !== 'sip')) {
    return { ok: false, check: 'uri-scheme', status: 416, reason: 'Unsupported URI Scheme in Route' };
  }

  // Step 3.
  if (request.maxForwards === 0) return { ok: false, check: 'max-forwards', status: 483 };

  // Step 4.
  if (hasLooped(request, config)) return { ok: false, check: 'loop', status: 482 };

  // Step 5.
  if (request.method !== 'CANCEL' && request.method !== 'ACK') {
    const unsupported = unsupportedTags(request.proxyRequire, config.supported);
    if (unsupported.length > 0) {
      return { ok: false, check: 'proxy-require', status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
    }
  }
  return { ok: true };
}

/**
 * A request addressed to this proxy itself: a SIP/SIPS Request-URI without a user part that
 * indicates us (`isOurUri`), e.g. `OPTIONS sip:edge.example.com` (§11, §16.3 step 3).
 */
export function isAddressedToSelf(request: SipMessage, config: SelfConfig): boolean {
  const uri = request.requestUri;
  return uri.kind === 'sip' && uri.user === null && isOurUri(uri, config);
}

/** §16.3 step 4: one of our Vias carries this request's loop hash. */
export function hasLooped(request: SipMessage, config: SelfConfig): boolean {
  const computed = new Map<string, string>();
  for (const via of request.vias) {
    const branch = via.branch;
    if (branch === undefined || !isOurVia(via, config)) continue;
    const ours = parseOurBranch(branch);
    if (ours === undefined) continue;
    let hash = computed.get(ours.kind);
    if (hash === undefined) {
      hash = loopHashFor(ours, request);
      computed.set(ours.kind, hash);
    }
    if (hash === ours.loop) return true;
  }
  return false;
}

function hasForeignRoute(request: SipMessage, config: SelfConfig): boolean {
  return request.routes.some((route) => route.uri.kind === 'sip' && !isOurUri(route.uri, config));
}

function unsupportedTags(required: readonly string[], supported: readonly string[]): string[] {
  const known = new Set(supported.map((tag) => tag.toLowerCase()));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const tag of required) {
    const key = tag.toLowerCase();
    if (known.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push(tag);
  }
  return out;
}
