/**
 * §17.2.1: an INVITE's 100 Trying leaves within 200 ms, before the slow part of the decision (here
 * RFC 3263 resolution against a DNS server of the test's own that answers after 2 s), and the
 * INVITE's retransmissions meanwhile are absorbed by its server transaction: no second lookup.
 */
import { promises as dns } from 'node:dns';
import { nodeDns } from '@sipedge/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { resolverFor } from '../src/index.js';
import { TestDnsServer } from './dns-server.js';
import { Harness, sip } from './harness.js';

const CALLER = { address: '192.0.2.1', port: 5060 };
const INVITE = sip([
  'INVITE sip:carol@slow.test SIP/2.0',
  `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bKslow-dns`,
  'Max-Forwards: 70',
  'To: <sip:carol@slow.test>',
  'From: <sip:alice@example.com>;tag=a1',
  'Call-ID: slow-dns',
  'CSeq: 1 INVITE',
  `Contact: <sip:alice@${CALLER.address}>`,
]);

describe('100 Trying before a slow decision (§17.2.1)', () => {
  let h: Harness;
  let server: TestDnsServer;
  afterEach(async () => {
    await h?.stop();
    server?.close();
  });

  it('answers 100 within 200 ms, absorbs retransmissions while DNS answers after 2 s, then forwards once', async () => {
    server = await TestDnsServer.start([{ type: 'A', name: 'slow.test', ttl: 60, data: '127.0.0.9' }], [], 2000);
    const resolver = new dns.Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    h = await Harness.start(2, { resolve: resolverFor(nodeDns(resolver)) });
    const sent = Date.now();
    await h.receive(INVITE, CALLER);
    const trying = await h.waitFor((s) => s.message.status === 100);
    const elapsed = Date.now() - sent;
    expect(server.answered).toBe(0);
    expect(elapsed).toBeLessThan(400);
    // The caller retransmits (Timer A) while the decision waits on DNS.
    for (const pause of [500, 1000]) {
      await new Promise((r) => setTimeout(r, pause));
      await h.receive(INVITE, CALLER);
    }
    await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE', 15_000);
    expect(server.queries.filter((q) => q.endsWith('slow.test'))).toEqual([
      ...new Set(server.queries.filter((q) => q.endsWith('slow.test'))),
    ]);
    expect(server.queries.filter((q) => q === 'NAPTR slow.test')).toHaveLength(1);
    expect(h.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE')).toHaveLength(1);
    // Each retransmission got the 100 again from the server transaction (§17.2.1), not a new decision.
    expect(h.sent.filter((s) => s.message.status === 100).length).toBeGreaterThanOrEqual(2);
    expect(trying.message.callId).toBe('slow-dns');
  }, 30_000);
});
