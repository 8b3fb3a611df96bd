/**
 * The RFC 4475 torture messages a registrar interprets (§3.1.1.4, §3.3.4, §3.3.12–14), read from
 * libs/sip's bit-exact fixtures and answered as fixtures/torture/rfc4475/INDEX.md says.
 */
import { parseUri } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { lookupTargets } from '../src/index.js';
import { T0, contactRows, expectBindings, registrar, torture } from './helpers.js';

const WATSON = 'sip:watson@example.com';

/** Sends the torture message `name` to a new registrar: its answer, and the targets of `aor` then. */
async function register(name: string, aor = WATSON) {
  const r = registrar();
  const res = await r.send(torture(name));
  const targets = await lookupTargets(parseUri(aor), { locations: r.locations, now: T0 });
  return { r, res, targets, target: targets[0] };
}

describe('RFC 4475 REGISTER messages', () => {
  it('cparam01: unknownparam is a Contact header parameter, not part of the bound URI', async () => {
    const { res, target } = await register('cparam01');
    expectBindings(res, ['<sip:+19725552222@gw1.example.net>;unknownparam;expires=3600']);
    expect(target?.uri.toString()).toBe('sip:+19725552222@gw1.example.net');
    expect(target?.uri.kind === 'sip' && target.uri.params.size).toBe(0);
    expect(target?.contact.params.has('unknownparam')).toBe(true);
  });

  it('cparam02: unknownparam is a URI parameter and stays inside the bound URI', async () => {
    const { res, target } = await register('cparam02');
    expectBindings(res, ['<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600']);
    expect(target?.uri.toString()).toBe('sip:+19725552222@gw1.example.net;unknownparam');
    expect(target?.uri.kind === 'sip' && target.uri.params.has('unknownparam')).toBe(true);
  });

  it('cparam01 and cparam02 name the same contact (§19.1.4): the second refreshes the first', async () => {
    const r = registrar();
    await r.send(torture('cparam01'));
    const res = await r.send(torture('cparam02'), { now: T0 + 10_000 });
    expect(contactRows(res)).toEqual(['<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600']);
  });

  it('regescrt: the escaped Route header is accepted and kept in the bound URI', async () => {
    const { res, target } = await register('regescrt', 'sip:user@example.com');
    expectBindings(res, ['<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600']);
    expect(target?.uri.kind === 'sip' && target.uri.headers).toEqual([
      { name: 'Route', value: '%3Csip:sip.example.com%3E' },
    ]);
  });

  it('escnull: the AOR keeps its escaped NUL and the two contacts are two bindings', async () => {
    const { r, res, targets } = await register('escnull', 'sip:null-%00-null@example.com');
    expectBindings(res, ['<sip:%00@host5.example.com>;expires=3600', '<sip:%00%00@host5.example.com>;expires=3600']);
    expect(await r.locations.lookup('sip:null-%00-null@example.com', T0)).toHaveLength(2);
    expect(await r.locations.lookup('sip:null-@example.com', T0)).toEqual([]);
    expect(targets.map((t) => t.uri.toString()).sort()).toEqual([
      'sip:%00%00@host5.example.com',
      'sip:%00@host5.example.com',
    ]);
  });

  it('unksm2: a To that is not a SIP or SIPS URI is a 400 and registers nothing', async () => {
    const { res } = await register('unksm2');
    expect(res.status).toBe(400);
    expect(res.get('call-id')).toBe('unksm2.daksdj@hyphenated-host.example.com');
    expect(contactRows(res)).toEqual([]);
  });
});
