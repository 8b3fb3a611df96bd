import { parseUri } from '@sipedge/sip';
import { MemoryLocationStore } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import { lookupTargets } from '../src/index.js';
import { T0, registerRequest, registrar } from './helpers.js';

const lookup = (r: ReturnType<typeof registrar>, uri: string, now = T0) =>
  lookupTargets(parseUri(uri), { locations: r.locations, now });

describe('lookupTargets (§16.5)', () => {
  it('returns the bindings highest q first, ties by the longest remaining time', async () => {
    const r = registrar();
    await r.send(
      registerRequest({
        contacts: [
          '<sip:a@low.example.net>;q=0.1',
          '<sip:a@default.example.net>',
          '<sip:a@mid.example.net>;q=0.5;expires=600',
          '<sip:a@mid2.example.net>;q=0.500;expires=900',
          '<sip:a@zero.example.net>;q=0',
        ],
      }),
    );
    const found = await lookup(r, 'sip:alice@example.com');
    expect(found.map((t) => [t.uri.toString(), t.q])).toEqual([
      ['sip:a@default.example.net', 1],
      ['sip:a@mid2.example.net', 0.5],
      ['sip:a@mid.example.net', 0.5],
      ['sip:a@low.example.net', 0.1],
      ['sip:a@zero.example.net', 0],
    ]);
    expect(found[1]?.expiresAt).toBe(T0 + 900_000);
    expect(found[1]?.uri.kind).toBe('sip');
    expect(found[1]?.contact.params.get('expires')).toBe('900');
  });

  it('finds the binding by the §10.3 and §19.1.4 rules: user=phone and host case ignored, user case not', async () => {
    const r = registrar();
    await r.send(registerRequest({ to: 'sip:Alice@example.com', contacts: ['<sip:alice@192.0.2.10>'] }));
    expect(await lookup(r, 'sip:Alice@EXAMPLE.COM;user=phone')).toHaveLength(1);
    expect(await lookup(r, 'sips:Alice@example.com')).toHaveLength(1);
    expect(await lookup(r, 'sip:alice@example.com')).toEqual([]);
    expect(await lookup(r, 'tel:+12015550123')).toEqual([]);
  });

  it('drops expired bindings', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:a@h1>;expires=60', '<sip:a@h2>;expires=120'] }));
    const later = await lookup(r, 'sip:alice@example.com', T0 + 90_000);
    expect(later.map((t) => t.uri.toString())).toEqual(['sip:a@h2']);
  });

  it('de-duplicates stored bindings whose contacts are §19.1.4-equal, keeping the longest-living', async () => {
    const locations = new MemoryLocationStore();
    const data = JSON.stringify({ edgeId: 'e1' });
    await locations.register(
      'sip:alice@example.com',
      {
        type: 'update',
        callId: 'c',
        cseq: 1,
        bindings: [
          { uriKey: 'old-key-1', contact: '<sip:%61@H1;foo=1>;expires=100', expires: 100, q: 1, data },
          { uriKey: 'old-key-2', contact: '<sip:a@h1>;expires=300', expires: 300, q: 1, data: 'not json' },
          { uriKey: 'broken', contact: '<<not a contact', expires: 300, q: 1, data },
        ],
      },
      T0,
    );
    const found = await lookupTargets(parseUri('sip:alice@example.com'), { locations, now: T0 });
    expect(found).toHaveLength(1);
    expect(found[0]?.uri.toString()).toBe('sip:a@h1');
    expect(found[0]?.expiresAt).toBe(T0 + 300_000);
    expect(found[0]?.data).toEqual({});
  });
});
