import { buildResponse, parseMessage } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { type KeepaliveSettings, NatKeepalive } from '../src/nat-keepalive.js';
import type { Endpoint } from '../src/transports/types.js';

const logger = createLogger({ name: 'nat-test', level: 'silent' });
const PHONE = { address: '203.0.113.9', port: 40001 };
const T0 = 1_000_000;

function keeper(settings: Partial<KeepaliveSettings> = {}) {
  const sent: { data: string; to: Endpoint }[] = [];
  const removed: [string, readonly string[]][] = [];
  const nat = new NatKeepalive(
    { mode: 'options', intervalMs: 10_000, misses: 2, ...settings },
    {
      send: async (data, to) => void sent.push({ data: data.toString('latin1'), to }),
      remove: async (aor, contacts) => void removed.push([aor, contacts]),
      advertised: { host: 'sip.example.com', port: 5060, ipv6Host: '2001:db8::5' },
      logger,
    },
  );
  nat.keep(
    { destination: PHONE, until: T0 + 3_600_000, aor: 'sip:bob@example.com', contacts: ['sip:bob@10.0.0.2'] },
    T0,
  );
  return { nat, sent, removed };
}

describe('NAT keep-alives (RFC 5626 §4.4, nathelper)', () => {
  it('pings a registered contact every interval ± 25 %, an OPTIONS from our address', async () => {
    const { nat, sent } = keeper();
    await nat.tick(T0 + 7_000);
    expect(sent).toEqual([]);
    await nat.tick(T0 + 12_500);
    expect(sent).toHaveLength(1);
    const options = parseMessage(Buffer.from(sent[0]!.data, 'latin1'));
    expect([options.method, options.requestUriText, sent[0]!.to]).toEqual(['OPTIONS', 'sip:203.0.113.9:40001', PHONE]);
    expect(options.topVia?.sentBy).toBe('sip.example.com:5060');
  });

  it('an IPv6 contact gets an OPTIONS from our IPv6 address (RFC 5658)', async () => {
    const { nat, sent } = keeper();
    const phone6 = { address: '2001:db8::99', port: 40002 };
    nat.keep({ destination: phone6, until: T0 + 3_600_000, aor: 'sip:carol@example.com', contacts: [] }, T0);
    await nat.tick(T0 + 12_500);
    const options = sent.map((s) => parseMessage(Buffer.from(s.data, 'latin1')));
    const toPhone6 = options[sent.findIndex((s) => s.to === phone6)]!;
    expect(toPhone6.requestUriText).toBe('sip:[2001:db8::99]:40002');
    expect(toPhone6.topVia?.sentBy).toBe('[2001:db8::5]:5060');
    expect(options[sent.findIndex((s) => s.to === PHONE)]!.topVia?.sentBy).toBe('sip.example.com:5060');
  });

  it('an answered ping keeps the contact; unanswered ones in a row remove its bindings', async () => {
    const { nat, sent, removed } = keeper();
    await nat.tick(T0 + 13_000);
    const answer = buildResponse(parseMessage(Buffer.from(sent[0]!.data, 'latin1')), 200, { toTag: 'x' });
    expect(nat.answered(parseMessage(answer.toBuffer()))).toBe(true);
    await nat.tick(T0 + 26_000);
    await nat.tick(T0 + 39_000);
    expect(removed).toEqual([]);
    await nat.tick(T0 + 52_000);
    expect(removed).toEqual([['sip:bob@example.com', ['sip:bob@10.0.0.2']]]);
    expect(nat.size).toBe(0);
    // A response that is not to one of our pings is left alone.
    const other = parseMessage(
      Buffer.from(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKother\r\nTo: <sip:a@b>;tag=1\r\nFrom: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    expect(nat.answered(other)).toBe(false);
  });

  it('crlf mode sends four bytes and removes nothing; a registration that ended is forgotten; off does nothing', async () => {
    const crlf = keeper({ mode: 'crlf' });
    for (let t = T0 + 13_000; t < T0 + 100_000; t += 13_000) await crlf.nat.tick(t);
    expect(crlf.sent.map((s) => s.data)).toEqual(Array(crlf.sent.length).fill('\r\n\r\n'));
    expect(crlf.sent.length).toBeGreaterThan(3);
    expect(crlf.removed).toEqual([]);
    await crlf.nat.tick(T0 + 3_600_000);
    expect(crlf.nat.size).toBe(0);
    const off = keeper({ mode: 'off' });
    await off.nat.tick(T0 + 60_000);
    expect([off.sent, off.nat.size]).toEqual([[], 0]);
  });

  it('keeps a bounded number of contacts, dropping the one ending soonest', () => {
    const { nat } = keeper({ maxContacts: 2 });
    nat.keep({ destination: { address: '203.0.113.10', port: 1 }, until: T0 + 60_000, aor: 'a', contacts: [] }, T0);
    nat.keep({ destination: { address: '203.0.113.11', port: 1 }, until: T0 + 90_000, aor: 'b', contacts: [] }, T0);
    expect(nat.size).toBe(2);
  });
});
