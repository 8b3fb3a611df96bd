import { parseSipUriStrict } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  type AddressRecord,
  type DnsPort,
  EMPTY_BLACKLIST,
  type NaptrRecord,
  type NextHop,
  type NodeResolver,
  type ResolvedTarget,
  type SrvRecord,
  addFailure,
  DEFAULT_BLACKLIST_MAX_ENTRIES,
  clearFailure,
  forkBranch,
  isBlacklisted,
  nodeDns,
  orderSrv,
  orderWithBlacklist,
  resolveNextHop,
  tupleKey,
} from '../src/index.js';

/** A DNS zone in memory that counts and records every query (no network anywhere). */
class FakeDns implements DnsPort {
  readonly queries: string[] = [];
  constructor(
    private readonly zone: {
      naptr?: Record<string, NaptrRecord[]>;
      srv?: Record<string, SrvRecord[]>;
      a?: Record<string, string[]>;
      fail?: string[];
    },
  ) {}

  count(type: 'naptr' | 'srv' | 'lookup'): number {
    return this.queries.filter((q) => q.startsWith(`${type} `)).length;
  }

  async naptr(name: string): Promise<NaptrRecord[]> {
    return this.answer('naptr', name, this.zone.naptr);
  }

  async srv(name: string): Promise<SrvRecord[]> {
    return this.answer('srv', name, this.zone.srv);
  }

  async lookup(name: string): Promise<AddressRecord[]> {
    const found = await this.answer('lookup', name, this.zone.a);
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }

  private async answer<T>(type: string, name: string, table: Record<string, T[]> | undefined): Promise<T[]> {
    this.queries.push(`${type} ${name}`);
    if (this.zone.fail?.includes(`${type} ${name}`)) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
    return table?.[name.toLowerCase()] ?? [];
  }
}

const naptr = (order: number, preference: number, service: string, replacement: string, flags = 's'): NaptrRecord => ({
  order,
  preference,
  flags,
  service,
  regexp: '',
  replacement,
});
const srv = (priority: number, weight: number, port: number, name: string): SrvRecord => ({
  priority,
  weight,
  port,
  name,
});
const t = (transport: ResolvedTarget['transport'], address: string, port: number): ResolvedTarget => ({
  transport,
  address,
  port,
});

/** The tuples of sip1.example.net (both address families in the test zone): IPv4, then IPv6. */
const sip1 = (transport: ResolvedTarget['transport'], port: number): ResolvedTarget[] => [
  t(transport, '192.0.2.1', port),
  t(transport, '2001:db8::1', port),
];

/** The next hop `prepareForward` would compute for a URI (§16.6 step 7). */
function hop(uri: string, secureTarget = false): NextHop {
  const u = parseSipUriStrict(uri);
  const h: NextHop = { uri: u, host: (u.maddr ?? u.hostname).replace(/^\[|\]$/g, '').toLowerCase() };
  if (u.port !== null) h.port = u.port;
  const transport = u.secure || secureTarget ? 'tls' : u.transport;
  if (transport === 'udp' || transport === 'tcp' || transport === 'tls') h.transport = transport;
  return h;
}

/** A deterministic uniform source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The RFC 3263 §4.1–§4.3 test zone: NAPTR prefers TCP, two TCP SRV targets, a UDP fallback. */
const zone = {
  naptr: {
    'example.net': [
      naptr(20, 10, 'SIP+D2U', '_sip._udp.example.net'),
      naptr(10, 50, 'SIP+D2T', '_sip._tcp.example.net'),
      naptr(10, 60, 'SIPS+D2T', '_sips._tcp.example.net'),
      naptr(5, 10, 'SIP+D2S', '_sip._sctp.example.net'), // SCTP: not supported
      naptr(5, 10, 'SIP+D2T', 'sip1.example.net', 'a'), // not an "s" record
    ],
  },
  srv: {
    '_sip._tcp.example.net': [srv(20, 0, 5060, 'sip2.example.net'), srv(10, 0, 5070, 'sip1.example.net.')],
    '_sip._udp.example.net': [srv(10, 0, 5060, 'sip1.example.net')],
    '_sips._tcp.example.net': [srv(10, 0, 5061, 'sip1.example.net')],
  },
  a: {
    'sip1.example.net': ['192.0.2.1', '2001:db8::1'],
    'sip2.example.net': ['192.0.2.2'],
    'example.net': ['192.0.2.100'],
  },
};

describe('resolveNextHop (RFC 3263 §4)', () => {
  it('numeric IP: no DNS at all; default port by transport', async () => {
    const dns = new FakeDns({});
    expect(await resolveNextHop(hop('sip:bob@192.0.2.5'), dns)).toEqual([t('udp', '192.0.2.5', 5060)]);
    expect(await resolveNextHop(hop('sip:bob@192.0.2.5;transport=tcp'), dns)).toEqual([t('tcp', '192.0.2.5', 5060)]);
    expect(await resolveNextHop(hop('sips:bob@[2001:db8::5]'), dns)).toEqual([t('tls', '2001:db8::5', 5061)]);
    expect(await resolveNextHop(hop('sip:bob@192.0.2.5:5080;transport=tls'), dns)).toEqual([
      t('tls', '192.0.2.5', 5080),
    ]);
    expect(await resolveNextHop(hop('sip:bob@host.invalid;maddr=192.0.2.7'), dns)).toEqual([
      t('udp', '192.0.2.7', 5060),
    ]);
    expect(dns.queries).toEqual([]);
  });

  it('an explicit port → A/AAAA only, no SRV or NAPTR query', async () => {
    const dns = new FakeDns(zone);
    expect(await resolveNextHop(hop('sip:bob@sip1.example.net:5080'), dns)).toEqual(sip1('udp', 5080));
    expect(await resolveNextHop(hop('sip:bob@sip2.example.net:5080;transport=tcp'), dns)).toEqual([
      t('tcp', '192.0.2.2', 5080),
    ]);
    expect(await resolveNextHop(hop('sips:bob@sip2.example.net:5081'), dns)).toEqual([t('tls', '192.0.2.2', 5081)]);
    expect(dns.count('naptr')).toBe(0);
    expect(dns.count('srv')).toBe(0);
    expect(dns.count('lookup')).toBe(3);
  });

  it('NAPTR prefers TCP → TCP tuples first, SRV target 1 (priority 10) first', async () => {
    const dns = new FakeDns(zone);
    const tuples = await resolveNextHop(hop('sip:bob@example.net'), dns);
    expect(tuples).toEqual([
      ...sip1('tcp', 5070),
      t('tcp', '192.0.2.2', 5060),
      ...sip1('tls', 5061),
      ...sip1('udp', 5060),
    ]);
    expect(dns.queries).toContain('naptr example.net');
    expect(dns.queries).not.toContain('srv _sip._sctp.example.net');
    // The replacement's trailing dot is not part of the name looked up.
    expect(dns.queries).toContain('lookup sip1.example.net');
  });

  it('NAPTR services are limited to the transports we use (preferTransports) and to SIPS for sips', async () => {
    const dns = new FakeDns(zone);
    expect(await resolveNextHop(hop('sip:bob@example.net'), dns, { preferTransports: ['udp'] })).toEqual(
      sip1('udp', 5060),
    );
    // A SIPS target reached through a sip URI without transport parameter: SIPS resolution.
    expect(await resolveNextHop(hop('sip:bob@example.net', true), dns)).toEqual(sip1('tls', 5061));
    expect(await resolveNextHop(hop('sip:bob@example.net'), dns, { sips: true })).toHaveLength(2);
  });

  it('an explicit transport → SRV for that transport (no NAPTR), then A/AAAA with the default port', async () => {
    const dns = new FakeDns(zone);
    expect(await resolveNextHop(hop('sip:bob@example.net;transport=UDP'), dns)).toEqual(sip1('udp', 5060));
    expect(await resolveNextHop(hop('sip:bob@example.net;transport=tls'), dns)).toEqual(sip1('tls', 5061));
    expect(dns.count('naptr')).toBe(0);
    expect(dns.queries.filter((q) => q.startsWith('srv'))).toEqual([
      'srv _sip._udp.example.net',
      'srv _sips._tcp.example.net',
    ]);
    // No SRV record for it: A/AAAA of the host.
    const plain = new FakeDns({ a: { 'pbx.example.org': ['198.51.100.9'] } });
    expect(await resolveNextHop(hop('sip:pbx.example.org;transport=tcp'), plain)).toEqual([
      t('tcp', '198.51.100.9', 5060),
    ]);
    expect(plain.queries).toEqual(['srv _sip._tcp.pbx.example.org', 'lookup pbx.example.org']);
  });

  it('no NAPTR → SRV for every supported transport in our order; no SRV → A/AAAA, udp (tls for sips)', async () => {
    const dns = new FakeDns({ srv: zone.srv, a: zone.a });
    expect(await resolveNextHop(hop('sip:example.net'), dns, { preferTransports: ['tcp', 'udp'] })).toEqual([
      ...sip1('tcp', 5070),
      t('tcp', '192.0.2.2', 5060),
      ...sip1('udp', 5060),
    ]);
    expect(dns.queries.slice(0, 3)).toEqual([
      'naptr example.net',
      'srv _sip._tcp.example.net',
      'srv _sip._udp.example.net',
    ]);

    const bare = new FakeDns({ a: { 'example.org': ['203.0.113.4'] } });
    expect(await resolveNextHop(hop('sip:example.org'), bare)).toEqual([t('udp', '203.0.113.4', 5060)]);
    expect(bare.queries).toEqual([
      'naptr example.org',
      'srv _sip._udp.example.org',
      'srv _sip._tcp.example.org',
      'srv _sips._tcp.example.org',
      'lookup example.org',
    ]);
    expect(await resolveNextHop(hop('sip:example.org'), bare, { preferTransports: ['tcp'] })).toEqual([
      t('tcp', '203.0.113.4', 5060),
    ]);
    const secure = new FakeDns({ a: { 'example.org': ['203.0.113.4'] } });
    expect(await resolveNextHop(hop('sips:example.org'), secure)).toEqual([t('tls', '203.0.113.4', 5061)]);
    expect(secure.queries).toEqual(['naptr example.org', 'srv _sips._tcp.example.org', 'lookup example.org']);
  });

  it('a failed query counts as an empty answer; an unresolvable hop gives no tuples', async () => {
    const dns = new FakeDns({ ...zone, fail: ['naptr example.net', 'srv _sip._udp.example.net'] });
    expect(await resolveNextHop(hop('sip:example.net'), dns)).toEqual([
      ...sip1('tcp', 5070),
      t('tcp', '192.0.2.2', 5060),
      ...sip1('tls', 5061),
    ]);
    expect(await resolveNextHop(hop('sip:nowhere.invalid'), new FakeDns({}))).toEqual([]);
  });

  it('SRV "." means no service; duplicate tuples appear once', async () => {
    const dns = new FakeDns({
      srv: {
        '_sip._udp.dup.example': [
          srv(10, 0, 5060, '.'),
          srv(10, 0, 5060, 'a.dup.example'),
          srv(20, 0, 5060, 'b.dup.example'),
        ],
      },
      a: { 'a.dup.example': ['192.0.2.50'], 'b.dup.example': ['192.0.2.50', '192.0.2.51'] },
    });
    expect(await resolveNextHop(hop('sip:dup.example;transport=udp'), dns)).toEqual([
      t('udp', '192.0.2.50', 5060),
      t('udp', '192.0.2.51', 5060),
    ]);
  });
});

describe('orderSrv (RFC 2782)', () => {
  it('orders by priority, then by weighted random draws', () => {
    const records = [srv(20, 0, 5060, 'late'), srv(10, 80, 5060, 'heavy'), srv(10, 20, 5060, 'light')];
    const random = seeded(42);
    let heavyFirst = 0;
    for (let i = 0; i < 2000; i++) {
      const order = orderSrv(records, random).map((r) => r.name);
      expect(order[2]).toBe('late');
      if (order[0] === 'heavy') heavyFirst++;
    }
    expect(heavyFirst / 2000).toBeGreaterThan(0.75);
    expect(heavyFirst / 2000).toBeLessThan(0.85);
  });

  it('is deterministic for a given random source; zero weights come first only on a zero draw', () => {
    const records = [srv(10, 0, 1, 'zero'), srv(10, 10, 1, 'ten')];
    expect(orderSrv(records, () => 0).map((r) => r.name)).toEqual(['zero', 'ten']);
    expect(orderSrv(records, () => 0.5).map((r) => r.name)).toEqual(['ten', 'zero']);
    expect(orderSrv([srv(1, 0, 1, 'a'), srv(1, 0, 1, 'b')], () => 0.99).map((r) => r.name)).toEqual(['a', 'b']);
  });
});

describe('RFC 3263 §4.3: the ordered tuples are the failover sequence', () => {
  it('the first SRV target refuses → the second gets the request, with a new branch per attempt', async () => {
    const tuples = await resolveNextHop(
      hop('sip:bob@example.net'),
      new FakeDns({
        naptr: { 'example.net': [naptr(10, 10, 'SIP+D2T', '_sip._tcp.example.net')] },
        srv: { '_sip._tcp.example.net': [srv(10, 0, 5060, 'sip1.example.net'), srv(20, 0, 5060, 'sip2.example.net')] },
        a: { 'sip1.example.net': ['192.0.2.1'], 'sip2.example.net': ['192.0.2.2'] },
      }),
    );
    const refuses = new Set(['tcp:192.0.2.1:5060']);
    const sent: { to: string; branch: string }[] = [];
    let delivered: ResolvedTarget | undefined;
    for (const [attempt, tuple] of tuples.entries()) {
      sent.push({ to: tupleKey(tuple), branch: forkBranch('ctx1', 'AAAAAAAAAA', 0, attempt) });
      if (!refuses.has(tupleKey(tuple))) {
        delivered = tuple;
        break;
      }
    }
    expect(delivered).toEqual(t('tcp', '192.0.2.2', 5060));
    expect(sent.map((s) => s.to)).toEqual(['tcp:192.0.2.1:5060', 'tcp:192.0.2.2:5060']);
    expect(sent[0]!.branch).not.toBe(sent[1]!.branch);
  });
});

describe('connection blacklist', () => {
  const one = t('tcp', '192.0.2.1', 5060);
  const two = t('tcp', '192.0.2.2', 5060);
  const NOW = 5_000_000;

  it('a failed tuple goes last within the TTL and comes back after it', () => {
    const list = addFailure(EMPTY_BLACKLIST, one, NOW, 30_000);
    expect(isBlacklisted(list, one, NOW + 1)).toBe(true);
    expect(isBlacklisted(list, two, NOW + 1)).toBe(false);
    expect(orderWithBlacklist([one, two], list, NOW + 29_999)).toEqual([two, one]);
    expect(orderWithBlacklist([one, two], list, NOW + 30_000)).toEqual([one, two]);
  });

  it('success removes it; all blacklisted keeps the preferred order', () => {
    let list = addFailure(addFailure(EMPTY_BLACKLIST, one, NOW, 30_000), two, NOW, 30_000);
    expect(orderWithBlacklist([one, two], list, NOW + 10)).toEqual([one, two]);
    list = clearFailure(list, one, NOW + 10);
    expect(isBlacklisted(list, one, NOW + 10)).toBe(false);
    expect(orderWithBlacklist([two, one], list, NOW + 10)).toEqual([one, two]);
  });

  it('keeps the longest TTL, drops expired entries, is a JSON record keyed by transport/address/port', () => {
    const v6 = t('tls', '2001:db8::1', 5061);
    let list = addFailure(EMPTY_BLACKLIST, v6, NOW, 60_000);
    list = addFailure(list, v6, NOW + 1_000, 1_000);
    expect(list).toEqual({ entries: { 'tls:[2001:db8::1]:5061': NOW + 60_000 } });
    list = addFailure(list, one, NOW + 70_000, 1_000);
    expect(list).toEqual({ entries: { 'tcp:192.0.2.1:5060': NOW + 71_000 } });
    expect(isBlacklisted(list, t('udp', '192.0.2.1', 5060), NOW + 70_000)).toBe(false);
    expect(JSON.parse(JSON.stringify(list))).toEqual(list);
  });

  it('holds at most maxEntries tuples, dropping those that end soonest (targets come from the wire)', () => {
    let list = EMPTY_BLACKLIST;
    for (let i = 0; i < 1200; i++)
      list = addFailure(list, t('udp', `198.51.100.${i % 250}`, 5000 + i), NOW + i, 60_000);
    expect(Object.keys(list.entries)).toHaveLength(DEFAULT_BLACKLIST_MAX_ENTRIES);
    expect(isBlacklisted(list, t('udp', '198.51.100.199', 6199), NOW + 1200)).toBe(true);
    expect(isBlacklisted(list, t('udp', '198.51.100.0', 5000), NOW + 1200)).toBe(false);
    list = addFailure(list, one, NOW + 1200, 60_000, 2);
    expect(Object.keys(list.entries).sort()).toEqual(['tcp:192.0.2.1:5060', 'udp:198.51.100.199:6199']);
  });

  it('a new call within the TTL reaches target 2 without touching target 1 (failover, then the blacklist)', () => {
    let list = EMPTY_BLACKLIST;
    list = addFailure(list, one, NOW); // the failed-over call's failed first attempt
    list = clearFailure(list, two, NOW); // its second attempt answered
    const next = orderWithBlacklist([one, two], list, NOW + 1_000);
    expect(next[0]).toEqual(two);
  });
});

describe('nodeDns (with a stand-in resolver: no network)', () => {
  const notFound = (code: string) => Promise.reject(Object.assign(new Error(code), { code }));
  const stub: NodeResolver = {
    resolveNaptr: (name: string) =>
      name === 'example.net'
        ? Promise.resolve([naptr(10, 10, 'SIP+D2T', '_sip._tcp.example.net')])
        : notFound('ENODATA'),
    resolveSrv: () => notFound('ENOTFOUND'),
    resolve4: (name: string) => (name === 'v6only.example' ? notFound('ENODATA') : Promise.resolve(['192.0.2.1'])),
    resolve6: (name: string) => (name === 'broken.example' ? notFound('ETIMEOUT') : Promise.resolve(['2001:db8::1'])),
  } as unknown as NodeResolver;

  it('maps NOTFOUND/NODATA to empty answers and rejects on other errors', async () => {
    const port = nodeDns(stub);
    expect(await port.naptr('example.net')).toHaveLength(1);
    expect(await port.naptr('other.example')).toEqual([]);
    expect(await port.srv('_sip._udp.example.net')).toEqual([]);
    expect(await port.lookup('dual.example')).toEqual([
      { address: '192.0.2.1', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ]);
    expect(await port.lookup('dual.example', 4)).toEqual([{ address: '192.0.2.1', family: 4 }]);
    expect(await port.lookup('v6only.example')).toEqual([{ address: '2001:db8::1', family: 6 }]);
    await expect(port.lookup('broken.example')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });
});
