import { NODATA, NOTFOUND, promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import type { ResolvableTransport, Transport } from '@sipedge/sip';
import type { NextHop } from './types.js';

/**
 * RFC 3263 §4 (Locating a SIP Server): from a next hop (RFC 3261 §16.6 step 7, `NextHop`) to the
 * ordered list of (transport, address, port) tuples to try. The list is also the failover sequence
 * (RFC 3263 §4.3, RFC 3261 §16.6 step 7): the proxy tries the next tuple, with a new branch,
 * after a transport error, a 503 or a timeout of the previous one. DNS goes through the `DnsPort`
 * so the logic is tested with a fake zone; `nodeDns` is the production adapter.
 */

/** A transport, address and port: where a request was sent (the blacklist's unit). */
export interface Tuple {
  readonly transport: Transport;
  /** IPv4 or IPv6 address, without brackets. */
  readonly address: string;
  readonly port: number;
}

/** One place to send a request: a tuple of RFC 3263 §4. */
export interface ResolvedTarget extends Tuple {
  readonly transport: ResolvableTransport;
}

export interface NaptrRecord {
  readonly order: number;
  readonly preference: number;
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
}

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly name: string;
}

export interface AddressRecord {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * The DNS queries RFC 3263 needs. A name with no records of the type resolves to `[]`; any
 * rejection is treated the same way by `resolveNextHop` (the next step of §4 is tried).
 */
export interface DnsPort {
  naptr(name: string): Promise<readonly NaptrRecord[]>;
  srv(name: string): Promise<readonly SrvRecord[]>;
  /** A and AAAA records (or only one family). */
  lookup(name: string, family?: 4 | 6): Promise<readonly AddressRecord[]>;
}

export interface ResolveOptions {
  /**
   * SIPS resolution (only TLS, `_sips._tcp`, `SIPS+D2T`). Default: the next hop's URI is sips. A
   * SIPS target reached through a sip next hop arrives with `hop.transport = 'tls'`, which has the
   * same effect.
   */
  readonly sips?: boolean;
  /**
   * The transports this proxy can use, in its order of preference: filters NAPTR services and
   * orders the SRV queries made when there is no NAPTR. Default udp, tcp, tls.
   */
  readonly preferTransports?: readonly ResolvableTransport[];
  /** Uniform in [0, 1), for the weighted SRV order (RFC 2782). Default Math.random. */
  readonly random?: () => number;
}

export const DEFAULT_TRANSPORTS: readonly ResolvableTransport[] = ['udp', 'tcp', 'tls'];

/** The default port of a transport: 5061 for TLS, else 5060 (RFC 3261 §19.1.2, RFC 3263 §4.2). */
export function defaultPortOf(transport: ResolvableTransport): number {
  return transport === 'tls' ? 5061 : 5060;
}

/** NAPTR services of RFC 3263 §4.1 that this proxy speaks. */
const NAPTR_SERVICES: Readonly<Record<string, ResolvableTransport>> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
};

/** SRV owner-name prefixes of RFC 3263 §4.1 / §4.2. */
const SRV_PREFIX: Readonly<Record<ResolvableTransport, string>> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
};

/**
 * The tuples to try for a next hop, best first, without duplicates (RFC 3263 §4.1 transport, §4.2
 * port and address):
 *
 * 1. Numeric IP: that address, no DNS; transport = the hop's, else tls for SIPS, else udp; port =
 *    the hop's, else the transport's default (5060 / 5061).
 * 2. Explicit port (RFC 3263 §4.2): A/AAAA of the host only, no NAPTR or SRV query; transport as in 1.
 * 3. Explicit transport (a `transport` parameter, which on a sips URI means tls): SRV `_sip._udp` /
 *    `_sip._tcp` / `_sips._tcp` of the host, then (nothing found) A/AAAA with the default port. A
 *    SIPS hop without the parameter goes through step 4, limited to TLS.
 * 4. Otherwise NAPTR of the host: records with flag "s" and a supported service (`SIP+D2U`,
 *    `SIP+D2T`, `SIPS+D2T`; only `SIPS+D2T` for SIPS), by order then preference, each followed to
 *    its SRV replacement. Nothing usable: SRV queries for every supported transport, in the order
 *    of `preferTransports`. Still nothing: A/AAAA with udp (tls for SIPS; the first supported
 *    transport when udp is not) and the default port.
 *
 * SRV records are ordered by priority, then by the weighted random selection of RFC 2782; a target
 * of "." means the service is not offered there. Each SRV target is looked up (A/AAAA) and its
 * addresses follow in the order DNS gave them. Queries of one step run in parallel. A failed query
 * counts as an empty answer. An empty list means the hop cannot be resolved: for the proxy, a
 * transport error (503, RFC 3261 §16.9 / RFC 3263 §4.3).
 */
export async function resolveNextHop(
  hop: NextHop,
  dns: DnsPort,
  options: ResolveOptions = {},
): Promise<ResolvedTarget[]> {
  // A sips next hop, or one that must be TLS for a SIPS target (`NextHop.transport` 'tls' without a
  // transport parameter): SIPS resolution. A transport parameter is an explicit transport (§4.1).
  const sips = options.sips ?? (hop.uri.secure || (hop.transport === 'tls' && hop.uri.transport === undefined));
  const explicit: ResolvableTransport | undefined =
    hop.transport === undefined || (hop.transport === 'tls' && hop.uri.transport === undefined)
      ? undefined
      : sips
        ? 'tls'
        : hop.transport;
  const random = options.random ?? Math.random;
  const supported: readonly ResolvableTransport[] = sips ? ['tls'] : (options.preferTransports ?? DEFAULT_TRANSPORTS);
  const host = hop.host;
  const plainTransport: ResolvableTransport =
    explicit ?? (sips ? 'tls' : supported.includes('udp') ? 'udp' : (supported[0] ?? 'udp'));

  // §4.1/§4.2: a numeric IP needs no DNS.
  if (isIP(host) !== 0) {
    return [{ transport: plainTransport, address: host, port: hop.port ?? defaultPortOf(plainTransport) }];
  }

  // §4.2: an explicit port → A/AAAA only (no SRV query).
  if (hop.port !== undefined) return addresses(dns, host, plainTransport, hop.port);

  // §4.2: a transport known from the URI → SRV for it, then A/AAAA.
  if (explicit !== undefined) {
    const viaSrv = await srvTuples(dns, SRV_PREFIX[explicit] + host, explicit, random);
    return viaSrv.length > 0 ? viaSrv : addresses(dns, host, explicit, defaultPortOf(explicit));
  }

  // §4.1: NAPTR.
  const naptr = (await safely(dns.naptr(host)))
    .map((r) => ({ r, transport: NAPTR_SERVICES[r.service.toUpperCase()] }))
    .filter((x): x is { r: NaptrRecord; transport: ResolvableTransport } => {
      return x.transport !== undefined && supported.includes(x.transport) && x.r.flags.toLowerCase() === 's';
    })
    .sort((a, b) => a.r.order - b.r.order || a.r.preference - b.r.preference);
  const fromNaptr = await inOrder(
    naptr.map(({ r }) => srvRecords(dns, r.replacement)),
    (records, i) => srvAddresses(dns, records, naptr[i]!.transport, random),
  );
  if (fromNaptr.length > 0) return fromNaptr;

  // §4.1: no NAPTR → SRV for each supported transport.
  const fromSrv = await inOrder(
    supported.map((t) => srvRecords(dns, SRV_PREFIX[t] + host)),
    (records, i) => srvAddresses(dns, records, supported[i]!, random),
  );
  if (fromSrv.length > 0) return fromSrv;

  // §4.1/§4.2: no SRV → A/AAAA, default transport and port.
  return addresses(dns, host, plainTransport, defaultPortOf(plainTransport));
}

/**
 * RFC 2782 order: ascending priority; within a priority, repeatedly pick at random with probability
 * proportional to the weight (weight 0 records placed first, so they are chosen only when the draw
 * is 0 or nothing else is left). Records whose target is "." are dropped.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const usable = records.filter((r) => r.name !== '.' && r.name !== '');
  const priorities = [...new Set(usable.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const p of priorities) {
    const group = usable.filter((r) => r.priority === p);
    const left = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
    while (left.length > 0) {
      const sum = left.reduce((s, r) => s + r.weight, 0);
      const draw = Math.min(Math.floor(random() * (sum + 1)), sum);
      let running = 0;
      let at = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]!.weight;
        if (running >= draw) {
          at = i;
          break;
        }
      }
      out.push(...left.splice(at, 1));
    }
  }
  return out;
}

// ---- blacklist ---------------------------------------------------------------------------------

/**
 * Tuples that failed recently (a transport error, a timeout, a 503 without Retry-After handling of
 * its own): key (`tupleKey`) → epoch ms until which it is blacklisted. A JSON record: it may be kept
 * per worker or shared in Redis. Every operation returns a new record.
 */
export interface Blacklist {
  readonly entries: Readonly<Record<string, number>>;
}

export const EMPTY_BLACKLIST: Blacklist = { entries: {} };

/** How long a failed tuple stays blacklisted by default. */
export const DEFAULT_BLACKLIST_TTL_MS = 60_000;

/**
 * Tuples a blacklist holds at most by default. Targets can come from the wire (registered
 * contacts, Request-URIs), so failures to arbitrary addresses must not grow the fleet's record,
 * which every change rewrites whole: at the cap the entries that end soonest are dropped (they
 * would have lapsed first, and a dropped tuple is merely tried in its normal order).
 */
export const DEFAULT_BLACKLIST_MAX_ENTRIES = 1000;

/** `udp:192.0.2.1:5060`, `tls:[2001:db8::1]:5061`. */
export function tupleKey(t: Tuple): string {
  const address = t.address.includes(':') ? `[${t.address}]` : t.address;
  return `${t.transport}:${address}:${t.port}`;
}

export function isBlacklisted(list: Blacklist, tuple: Tuple, now: number): boolean {
  const until = list.entries[tupleKey(tuple)];
  return until !== undefined && until > now;
}

/**
 * The tuple failed at `now`: blacklisted until `now + ttlMs` (never shortened). Expired entries are
 * dropped, and beyond `maxEntries` those that end soonest.
 */
export function addFailure(
  list: Blacklist,
  tuple: Tuple,
  now: number,
  ttlMs = DEFAULT_BLACKLIST_TTL_MS,
  maxEntries = DEFAULT_BLACKLIST_MAX_ENTRIES,
): Blacklist {
  const key = tupleKey(tuple);
  const entries = live(list, now);
  entries[key] = Math.max(now + ttlMs, list.entries[key] ?? 0);
  return { entries: endingLast(entries, maxEntries) };
}

/** The tuple worked (a response came back): off the blacklist. Expired entries are dropped. */
export function clearFailure(list: Blacklist, tuple: Tuple, now: number): Blacklist {
  const entries = live(list, now);
  delete entries[tupleKey(tuple)];
  return { entries };
}

/**
 * The tuples with the blacklisted ones moved to the end, each group keeping its order (stable).
 * When every tuple is blacklisted the order is unchanged: the preferred one is tried anyway.
 */
export function orderWithBlacklist<T extends Tuple>(tuples: readonly T[], list: Blacklist, now: number): T[] {
  const ok = tuples.filter((t) => !isBlacklisted(list, t, now));
  const bad = tuples.filter((t) => isBlacklisted(list, t, now));
  return [...ok, ...bad];
}

// ---- node:dns adapter ----------------------------------------------------------------------------

/** The node:dns calls `nodeDns` makes (a `dns.promises.Resolver`, or a stand-in with the same shape). */
export type NodeResolver = Pick<dnsPromises.Resolver, 'resolveNaptr' | 'resolveSrv' | 'resolve4' | 'resolve6'>;

/**
 * `DnsPort` over node:dns. NOTFOUND / NODATA answers become `[]`; other errors (timeouts,
 * SERVFAIL, refused) reject.
 *
 * - With a `resolver` (e.g. `new dns.promises.Resolver({ timeout: 2000, tries: 2 })`): every query
 *   goes through it (c-ares, asynchronous: a slow name never blocks others); A/AAAA via
 *   resolve4/resolve6, IPv4 first. /etc/hosts and resolv.conf search domains are not used: names
 *   must be fully qualified.
 * - Without: NAPTR and SRV through the default c-ares resolver, A/AAAA through `dns.lookup`
 *   (getaddrinfo: /etc/hosts and search domains apply, as for Kubernetes service names; it runs on
 *   libuv's thread pool, so many slow lookups at once can queue behind each other).
 */
export function nodeDns(resolver?: NodeResolver): DnsPort {
  const r: NodeResolver = resolver ?? dnsPromises;
  return {
    naptr: (name) => notFoundAsEmpty(r.resolveNaptr(name)),
    srv: (name) => notFoundAsEmpty(r.resolveSrv(name)),
    lookup: resolver === undefined ? getaddrinfo : (name, family) => resolveAddresses(r, name, family),
  };
}

const NOT_FOUND = new Set<string>([NOTFOUND, NODATA]);

async function notFoundAsEmpty<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (e) {
    if (NOT_FOUND.has((e as NodeJS.ErrnoException).code ?? '')) return [];
    throw e;
  }
}

async function getaddrinfo(name: string, family?: 4 | 6): Promise<AddressRecord[]> {
  const found = await notFoundAsEmpty(dnsPromises.lookup(name, { all: true, family: family ?? 0 }));
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

async function resolveAddresses(r: NodeResolver, name: string, family?: 4 | 6): Promise<AddressRecord[]> {
  const [v4, v6] = await Promise.all([
    family === 6 ? [] : notFoundAsEmpty(r.resolve4(name)),
    family === 4 ? [] : notFoundAsEmpty(r.resolve6(name)),
  ]);
  return [
    ...v4.map((address) => ({ address, family: 4 as const })),
    ...v6.map((address) => ({ address, family: 6 as const })),
  ];
}

// ---- internals -------------------------------------------------------------------------------

async function safely<T>(query: Promise<readonly T[]>): Promise<readonly T[]> {
  try {
    return await query;
  } catch {
    return [];
  }
}

function srvRecords(dns: DnsPort, name: string): Promise<readonly SrvRecord[]> {
  return safely(dns.srv(name));
}

/** Runs the queries in parallel, then expands each answer in order (the random draws stay in list order). */
async function inOrder<T>(
  queries: readonly Promise<T>[],
  expand: (answer: T, index: number) => Promise<ResolvedTarget[]>,
): Promise<ResolvedTarget[]> {
  const answers = await Promise.all(queries);
  const expanded = await Promise.all(answers.map(expand));
  return unique(expanded.flat());
}

/** The addresses of SRV targets in RFC 2782 order (order drawn before any lookup is made). */
async function srvAddresses(
  dns: DnsPort,
  records: readonly SrvRecord[],
  transport: ResolvableTransport,
  random: () => number,
): Promise<ResolvedTarget[]> {
  const ordered = orderSrv(records, random);
  const lists = await Promise.all(ordered.map((r) => addresses(dns, trimDot(r.name), transport, r.port)));
  return unique(lists.flat());
}

async function srvTuples(dns: DnsPort, name: string, transport: ResolvableTransport, random: () => number) {
  return srvAddresses(dns, await srvRecords(dns, name), transport, random);
}

async function addresses(
  dns: DnsPort,
  name: string,
  transport: ResolvableTransport,
  port: number,
): Promise<ResolvedTarget[]> {
  if (isIP(name) !== 0) return [{ transport, address: name, port }];
  const found = await safely(dns.lookup(name));
  return unique(found.map((a) => ({ transport, address: a.address, port })));
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function unique(tuples: readonly ResolvedTarget[]): ResolvedTarget[] {
  const seen = new Set<string>();
  return tuples.filter((t) => {
    const key = tupleKey(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** At most `max` of the entries, those that end last: the one ending soonest goes while there are more. */
function endingLast(entries: Record<string, number>, max: number): Record<string, number> {
  for (let count = Object.keys(entries).length; count > max; count--) {
    let soonest: string | undefined;
    for (const key in entries) if (soonest === undefined || entries[key]! < entries[soonest]!) soonest = key;
    delete entries[soonest!];
  }
  return entries;
}

function live(list: Blacklist, now: number): Record<string, number> {
  const entries: Record<string, number> = {};
  for (const [k, until] of Object.entries(list.entries)) if (until > now) entries[k] = until;
  return entries;
}
