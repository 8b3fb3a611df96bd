/** RFC 3263 next-hop resolution through node:dns against a DNS server of the test's own on loopback. */
import { promises as dns } from 'node:dns';
import { nodeDns } from '@sipedge/proxy';
import { parseUri, type SipUri } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolverFor } from '../src/index.js';
import { TestDnsServer } from './dns-server.js';

const srv = (name: string, priority: number, weight: number, port: number, target: string) => ({
  type: 'SRV' as const,
  name,
  ttl: 60,
  data: { priority, weight, port, target },
});
const a = (name: string, address: string) => ({ type: 'A' as const, name, ttl: 60, data: address });

describe('RFC 3263 resolution over a real DNS server on loopback', () => {
  let server: TestDnsServer;
  let resolve: ReturnType<typeof resolverFor>;
  let port: ReturnType<typeof nodeDns>;
  beforeAll(async () => {
    server = await TestDnsServer.start(
      [
        {
          type: 'NAPTR',
          name: 'pbx.test',
          ttl: 60,
          data: {
            order: 10,
            preference: 10,
            flags: 's',
            services: 'SIP+D2T',
            regexp: '',
            replacement: '_sip._tcp.pbx.test',
          },
        },
        {
          type: 'NAPTR',
          name: 'pbx.test',
          ttl: 60,
          data: {
            order: 20,
            preference: 10,
            flags: 's',
            services: 'SIP+D2U',
            regexp: '',
            replacement: '_sip._udp.pbx.test',
          },
        },
        srv('_sip._tcp.pbx.test', 10, 0, 5070, 'one.pbx.test'),
        srv('_sip._tcp.pbx.test', 20, 0, 5080, 'two.pbx.test'),
        srv('_sip._udp.pbx.test', 10, 0, 5090, 'one.pbx.test'),
        a('one.pbx.test', '127.0.0.2'),
        a('two.pbx.test', '127.0.0.3'),
        srv('_sip._udp.srv-only.test', 10, 0, 5062, 'one.pbx.test'),
        { type: 'TXT', name: 'srv-only.test', ttl: 60, data: 'no NAPTR here' },
        a('plain.test', '127.0.0.4'),
      ],
      ['broken.test'],
    );
    const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    port = nodeDns(resolver);
    resolve = resolverFor(port);
  });
  afterAll(() => server?.close());

  const hopOf = (uri: string) => {
    const parsed = parseUri(uri) as SipUri;
    return { uri: parsed, host: parsed.host, ...(parsed.port === null ? {} : { port: parsed.port }) };
  };

  it('NAPTR → SRV → A: every tuple in order (the RFC 3263 §4.3 failover sequence), the preferred NAPTR transport first', async () => {
    expect(await resolve(hopOf('sip:pbx.test'))).toEqual([
      { transport: 'tcp', address: '127.0.0.2', port: 5070 },
      { transport: 'tcp', address: '127.0.0.3', port: 5080 },
      { transport: 'udp', address: '127.0.0.2', port: 5090 },
    ]);
  });

  it('no NAPTR: SRV for the default transport; no SRV either: A on port 5060 (RFC 3263 §4.1, §4.2)', async () => {
    expect(await resolve(hopOf('sip:srv-only.test'))).toEqual([{ transport: 'udp', address: '127.0.0.2', port: 5062 }]);
    expect(await resolve(hopOf('sip:plain.test'))).toEqual([{ transport: 'udp', address: '127.0.0.4', port: 5060 }]);
    expect(await resolve(hopOf('sip:plain.test:5099'))).toEqual([
      { transport: 'udp', address: '127.0.0.4', port: 5099 },
    ]);
  });

  it('an unknown name and a failing server both leave nothing to try (the hop is unreachable, RFC 3263 §4.3)', async () => {
    expect(await resolve(hopOf('sip:nowhere.test'))).toEqual([]);
    expect(await resolve(hopOf('sip:broken.test'))).toEqual([]);
    // The adapter tells the two apart: NXDOMAIN is an empty answer, SERVFAIL an error.
    expect(await port.naptr('nowhere.test')).toEqual([]);
    await expect(port.naptr('broken.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });
});
