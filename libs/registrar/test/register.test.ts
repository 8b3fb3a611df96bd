import { parseMessage, parseUri } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { lookupTargets, processRegister } from '../src/index.js';
import { T0, contactRows, expectBindings, registerRequest, registrar } from './helpers.js';

const ALICE = 'sip:alice@example.com';
const targets = (r: ReturnType<typeof registrar>, now = T0) =>
  lookupTargets(parseUri(ALICE), { locations: r.locations, now });

/** The current bindings of alice as contact texts. */
async function bindingsOf(r: ReturnType<typeof registrar>, aor = ALICE, now = T0): Promise<string[]> {
  return (await r.locations.lookup(aor, now)).map((b) => b.contact).sort();
}

describe('processRegister: the §10.3 black-box cases', () => {
  it('two Contacts: 200 listing both, each with its expires, a Date and a To-tag', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<sip:alice@192.0.2.10:5060>', '"Alice" <sip:alice@198.51.100.7>;q=0.5'] }),
    );
    expectBindings(res, [
      '<sip:alice@192.0.2.10:5060>;expires=3600',
      '"Alice" <sip:alice@198.51.100.7>;q=0.5;expires=3600',
    ]);
    expect(res.get('date')).toBe('Fri, 01 Jan 2100 00:00:00 GMT');
    expect(res.to.tag).toBeDefined();
    expect(res.get('call-id')).toBe('call-1@192.0.2.10');
    expect(await bindingsOf(r)).toHaveLength(2);
  });

  it('a REGISTER that would add bindings beyond maxContacts: 403 Too Many Contacts, nothing stored', async () => {
    const r = registrar({ maxContacts: 2 });
    const contacts = (n: number) => Array.from({ length: n }, (_, i) => `<sip:alice@192.0.2.${i + 1}>`);
    expect((await r.send(registerRequest({ contacts: contacts(3) }))).status).toBe(403);
    expect(await bindingsOf(r)).toEqual([]);
    expect((await r.send(registerRequest({ contacts: contacts(2), cseq: 2 }))).status).toBe(200);
    const third = await r.send(registerRequest({ contacts: ['<sip:alice@198.51.100.9>'], callId: 'other', cseq: 1 }));
    expect([third.status, third.reason]).toEqual([403, 'Too Many Contacts']);
    expect(await bindingsOf(r)).toHaveLength(2);
    // The default is 10.
    const many = registrar();
    expect((await many.send(registerRequest({ contacts: contacts(11) }))).status).toBe(403);
    expect((await many.send(registerRequest({ contacts: contacts(10), cseq: 2 }))).status).toBe(200);
  });

  it('Expires 30 with a minimum of 60: 423 with Min-Expires 60, nothing stored', async () => {
    const r = registrar({ minExpires: 60 });
    const res = await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], expires: 30 }));
    expect(res.status).toBe(423);
    expect(res.reason).toBe('Interval Too Brief');
    expect(res.get('min-expires')).toBe('60');
    expect(contactRows(res)).toEqual([]);
    expect(await bindingsOf(r)).toEqual([]);
  });

  it('423 when any one contact asks too little, and nothing of the request is applied', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<sip:alice@192.0.2.10>', '<sip:alice@192.0.2.11>;expires=59'], expires: 600 }),
    );
    expect(res.status).toBe(423);
    expect(await bindingsOf(r)).toEqual([]);
  });

  it('Contact * with Expires 0 removes every binding of the AOR', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], callId: 'a', cseq: 1 }));
    await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.11>'], callId: 'b', cseq: 1 }));
    expect(await bindingsOf(r)).toHaveLength(2);
    const res = await r.send(registerRequest({ contacts: ['*'], expires: 0, callId: 'a', cseq: 2 }));
    expectBindings(res, []);
    expect(res.get('date')).toBeDefined();
    expect(await bindingsOf(r)).toEqual([]);
  });

  it('Contact * with Expires 10, without Expires, or beside another Contact: 400, bindings kept', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], cseq: 1 }));
    const bad = [
      registerRequest({ contacts: ['*'], expires: 10, cseq: 2 }),
      registerRequest({ contacts: ['*'], cseq: 3 }),
      registerRequest({ contacts: ['*', '<sip:alice@192.0.2.12>'], expires: 0, cseq: 4 }),
    ];
    for (const request of bad) {
      const res = await r.send(request);
      expect(res.status).toBe(400);
    }
    expect(await bindingsOf(r)).toEqual(['<sip:alice@192.0.2.10>;expires=3600']);
  });

  it('same Call-ID with a lower or equal CSeq: 400, and nothing of that request is applied', async () => {
    const r = registrar();
    const first = await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], cseq: 5 }));
    expect(first.status).toBe(200);
    for (const cseq of [4, 5]) {
      const res = await r.send(
        registerRequest({
          contacts: ['<sip:alice@192.0.2.10>;expires=0', '<sip:alice@192.0.2.99>'],
          cseq,
        }),
        { now: T0 + 1000 },
      );
      expect(res.status).toBe(400);
      expect(res.reason).toBe('Invalid CSeq Number');
      expect(contactRows(res)).toEqual([]);
    }
    const wildcard = await r.send(registerRequest({ contacts: ['*'], expires: 0, cseq: 3 }));
    expect(wildcard.status).toBe(400);
    expect(await bindingsOf(r)).toEqual(['<sip:alice@192.0.2.10>;expires=3600']);
    // A higher CSeq goes through.
    const later = await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>;expires=0'], cseq: 6 }));
    expect(later.status).toBe(200);
    expect(await bindingsOf(r)).toEqual([]);
  });

  it('the 200 carries no Record-Route, even when the REGISTER had one', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({
        contacts: ['<sip:alice@192.0.2.10>'],
        extra: ['Record-Route: <sip:p1.example.com;lr>', 'Route: <sip:p2.example.com;lr>'],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.has('record-route')).toBe(false);
    expect(res.has('route')).toBe(false);
    expect(res.vias).toHaveLength(1);
  });
});

describe('processRegister: authorisation (§10.3 steps 3–4)', () => {
  it("403 when the authenticated user registers another user's AOR; 200 for their own", async () => {
    const r = registrar();
    const other = await r.send(registerRequest({ to: 'sip:bob@example.com', contacts: ['<sip:x@192.0.2.10>'] }), {
      authorizedUser: { username: 'alice' },
    });
    expect(other.status).toBe(403);
    expect(await bindingsOf(r, 'sip:bob@example.com')).toEqual([]);
    const own = await r.send(registerRequest({ contacts: ['<sip:x@192.0.2.10>'] }), {
      authorizedUser: { username: 'alice' },
    });
    expect(own.status).toBe(200);
  });

  it('uses mayRegister when given, with the canonical AOR', async () => {
    const r = registrar();
    const seen: [string, string][] = [];
    const res = await r.send(registerRequest({ to: 'sips:Bob@EXAMPLE.com;user=phone', contacts: ['<sip:x@h>'] }), {
      authorizedUser: { username: 'admin' },
      mayRegister: (username, aor) => (seen.push([username, aor]), true),
    });
    expect(res.status).toBe(200);
    expect(seen).toEqual([['admin', 'sip:Bob@example.com']]);
  });

  it('null authorizedUser (authentication in use, none succeeded): 403; undefined: open registrar', async () => {
    const r = registrar();
    const closed = await r.send(registerRequest({ contacts: ['<sip:x@h>'] }), { authorizedUser: null });
    expect(closed.status).toBe(403);
    const open = await r.send(registerRequest({ contacts: ['<sip:x@h>'] }));
    expect(open.status).toBe(200);
  });
});

describe('processRegister: steps 1, 2 and 5', () => {
  it('a Request-URI outside the served domains is not ours (the caller proxies it)', async () => {
    const r = registrar();
    for (const requestUri of ['sip:other.example.net', 'tel:+12015550123']) {
      const outcome = await processRegister(registerRequest({ requestUri, contacts: ['<sip:x@h>'] }), {
        locations: r.locations,
        now: T0,
        domains: ['example.com'],
      });
      expect(outcome).toEqual({ kind: 'not-ours' });
    }
    const ours = await processRegister(registerRequest({ requestUri: 'sip:EXAMPLE.COM:5060', contacts: [] }), {
      locations: r.locations,
      now: T0,
      domains: ['Example.com'],
    });
    expect(ours.kind).toBe('response');
  });

  it('Require with unsupported tags: 420 listing them in Unsupported; supported tags pass', async () => {
    const r = registrar({ supported: ['x-known'] });
    const res = await r.send(
      registerRequest({ contacts: ['<sip:x@h>'], extra: ['Require: x-known, foo', 'Require: bar, foo'] }),
    );
    expect(res.status).toBe(420);
    expect(res.values('unsupported')).toEqual(['foo', 'bar']);
    expect(await bindingsOf(r)).toEqual([]);
    const ok = await r.send(registerRequest({ contacts: ['<sip:x@h>'], extra: ['Require: X-Known'] }));
    expect(ok.status).toBe(200);
  });

  it('an AOR outside the served domains: 404', async () => {
    const r = registrar();
    const res = await r.send(registerRequest({ to: 'sip:alice@elsewhere.example.net', contacts: ['<sip:x@h>'] }));
    expect(res.status).toBe(404);
  });

  it('a To that is not sip/sips: 400', async () => {
    const r = registrar();
    const res = await r.send(registerRequest({ to: 'tel:+12015550123', contacts: ['<sip:x@h>'] }));
    expect(res.status).toBe(400);
  });

  it('a Contact whose sip: URI is invalid: 400, nothing stored', async () => {
    const r = registrar();
    const request = registerRequest({ contacts: ['<sip:ok@h>', '<sip:@bad.example.com>'], validate: false });
    const res = await r.send(request);
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/Contact/);
    expect(await bindingsOf(r)).toEqual([]);
  });

  it('accepts Contacts of other schemes (§10.2.1: any URI scheme); lookupTargets returns them parsed', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<tel:+1-201-555-0123>;q=0.2', '<mailto:alice@example.com>'] }),
    );
    expectBindings(res, ['<tel:+1-201-555-0123>;q=0.2;expires=3600', '<mailto:alice@example.com>;expires=3600']);
    expect((await targets(r)).map((t) => t.uri.kind)).toEqual(['absolute', 'tel']);
  });

  it('files sip:, sips: and escaped spellings of one AOR under one canonical AOR', async () => {
    const r = registrar();
    await r.send(registerRequest({ to: 'sip:%61lice@EXAMPLE.com', contacts: ['<sip:a@h1>'], callId: 'x' }));
    await r.send(registerRequest({ to: 'sips:alice@example.com;user=phone', contacts: ['<sips:a@h2>'], callId: 'y' }));
    expect(await bindingsOf(r)).toEqual(['<sip:a@h1>;expires=3600', '<sips:a@h2>;expires=3600']);
  });
});

describe('processRegister: step 7 intervals and q', () => {
  it("the contact's expires parameter beats the Expires header; the header beats the default", async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<sip:a@h1>;expires=120', '<sip:a@h2>'], expires: 600, callId: 'x' }),
    );
    expect(contactRows(res)).toEqual(['<sip:a@h1>;expires=120', '<sip:a@h2>;expires=600']);
    const stored = await r.locations.lookup(ALICE, T0);
    expect(stored.map((b) => b.expiresAt).sort((a, b) => a - b)).toEqual([T0 + 120_000, T0 + 600_000]);
    const plain = await r.send(registerRequest({ contacts: ['<sip:a@h3>'], callId: 'y' }), { defaultExpires: 1800 });
    expect(contactRows(plain)).toContain('<sip:a@h3>;expires=1800');
  });

  it('clamps a long interval to maxExpires, overlarge values included', async () => {
    const r = registrar({ maxExpires: 3600 });
    const res = await r.send(
      registerRequest({ contacts: ['<sip:a@h1>;expires=7200', '<sip:a@h2>;expires=4294967296'], expires: 99999 }),
    );
    expectBindings(res, ['<sip:a@h1>;expires=3600', '<sip:a@h2>;expires=3600']);
  });

  it('a malformed expires parameter counts as the default interval', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<sip:a@h1>;expires="Thu, 01 Dec 1994 16:00:00 GMT"'], expires: 30 }),
    );
    expectBindings(res, ['<sip:a@h1>;expires=3600']);
  });

  it('expires=0 removes that contact only; an unknown contact with 0 is not an error', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:a@h1>', '<sip:a@h2>'], cseq: 1 }));
    const res = await r.send(
      registerRequest({ contacts: ['<sip:a@H1>;expires=0', '<sip:a@h9>'], expires: 0, cseq: 2 }),
    );
    expectBindings(res, ['<sip:a@h2>;expires=3600']);
  });

  it('the same contact twice in one request: one binding, the later value wins', async () => {
    const r = registrar();
    const res = await r.send(registerRequest({ contacts: ['<sip:a@h1>;expires=100', '<sip:a@H1;lr>;expires=200'] }));
    expect(contactRows(res)).toEqual(['<sip:a@H1;lr>;expires=200']);
  });

  it('q from the q parameter (1 when absent); a malformed q is a 400 and changes nothing', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:a@h1>;q=0.25', '<sip:a@h2>'], cseq: 1 }));
    const qs = (await r.locations.lookup(ALICE, T0)).map((b) => b.q).sort();
    expect(qs).toEqual([0.25, 1]);
    for (const q of ['1.5', '0.1234', 'x', '', '-0', '1.001']) {
      const res = await r.send(registerRequest({ contacts: [`<sip:a@h3>;q${q === '' ? '' : `=${q}`}`], cseq: 2 }));
      expect(res.status).toBe(400);
    }
    expect(await bindingsOf(r)).toHaveLength(2);
  });

  it('a refresh keeps one binding per contact and restarts its interval', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:a@h1>'], expires: 600, cseq: 1 }));
    const res = await r.send(registerRequest({ contacts: ['<sip:a@h1>'], expires: 600, cseq: 2 }), {
      now: T0 + 500_000,
    });
    expect(contactRows(res)).toEqual(['<sip:a@h1>;expires=600']);
    expect((await r.locations.lookup(ALICE, T0 + 500_000))[0]?.expiresAt).toBe(T0 + 1_100_000);
  });
});

describe('processRegister: queries and settings', () => {
  it('a REGISTER without Contact is a query: 200 with the current bindings and their remaining time', async () => {
    const r = registrar();
    await r.send(registerRequest({ contacts: ['<sip:a@h1>;expires=600', '<sip:a@h2>;expires=100'], cseq: 1 }));
    const res = await r.send(registerRequest({ cseq: 2, expires: 0 }), { now: T0 + 40_500 });
    expectBindings(res, ['<sip:a@h1>;expires=560', '<sip:a@h2>;expires=60']);
    expect(res.get('date')).toBe('Fri, 01 Jan 2100 00:00:40 GMT');
    const late = await r.send(registerRequest({ cseq: 3 }), { now: T0 + 200_000 });
    expect(contactRows(late)).toEqual(['<sip:a@h1>;expires=400']);
    const nobody = await r.send(registerRequest({ to: 'sip:nobody@example.com' }));
    expect(nobody.status).toBe(200);
    expect(contactRows(nobody)).toEqual([]);
  });

  it('rejects requests that are not REGISTER and inconsistent settings', async () => {
    const r = registrar();
    const options = { locations: r.locations, now: T0, domains: ['example.com'] };
    const invite = parseMessage(
      Buffer.from(
        registerRequest()
          .toString()
          .replace(/REGISTER/g, 'INVITE'),
        'latin1',
      ),
    );
    await expect(processRegister(invite, options)).rejects.toThrow(TypeError);
    const request = registerRequest({ contacts: ['<sip:a@h>'] });
    for (const bad of [
      { minExpires: 7200, defaultExpires: 7200, maxExpires: 7200 },
      { minExpires: 120, defaultExpires: 60 },
      { maxExpires: 600 },
      { defaultExpires: 0, minExpires: 0 },
      { minExpires: -1 },
      { maxExpires: 1.5 },
    ]) {
      await expect(processRegister(request, { ...options, ...bad })).rejects.toThrow(RangeError);
    }
  });
});

describe('processRegister: binding metadata', () => {
  it('stores flow, edge, source, +sip.instance and reg-id in Binding.data', async () => {
    const r = registrar();
    const registration = {
      flowId: 'f-edge1-7-abc',
      edgeId: 'edge1',
      source: { transport: 'tcp', address: '203.0.113.5', port: 40123 },
    };
    await r.send(
      registerRequest({
        contacts: [
          '<sip:a@10.0.0.5:5060;transport=tcp>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1',
        ],
        extra: ['Supported: outbound, path'],
      }),
      { registration },
    );
    const [binding] = await r.locations.lookup(ALICE, T0);
    expect(JSON.parse(binding!.data)).toEqual({
      ...registration,
      instance: '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>',
      regId: 1,
      nat: true,
    });
    const [target] = await targets(r);
    expect(target?.data).toEqual(JSON.parse(binding!.data));
  });

  /** The Via of a request sent from the source itself (192.0.2.10:5060). */
  const fromSource = 'SIP/2.0/UDP 192.0.2.10:5060';
  it.each<[description: string, nat: boolean, contact: string, via?: string]>([
    ['a Via and Contact naming the source', false, '<sip:alice@192.0.2.10:5060>'],
    // A third party registering a contact elsewhere on the same host is not a NAT.
    ['a Contact on another port of the source host', false, '<sip:alice@192.0.2.10:6000>'],
    ['a private Contact', true, '<sip:alice@10.1.2.3:5060>'],
    ['a carrier-grade NAT Contact (RFC 6598)', true, '<sip:alice@100.64.7.1>'],
    ['an IPv6 unique local Contact', true, '<sip:alice@[fd00::5]>'],
    // A third party registering a contact on another public host (§10.2): reached at that Contact.
    ['a Contact on another public host', false, '<sip:alice@198.51.100.7:5060>'],
    ['a Contact naming a host name', false, '<sip:alice@pbx.example.com>'],
    [
      'a Via the packet did not come from (a NAT rewrote its source)',
      true,
      '<sip:alice@192.0.2.10>',
      'SIP/2.0/UDP 10.1.2.3:5060',
    ],
    ['a Via port other than the source port', true, '<sip:alice@192.0.2.10:5062>', 'SIP/2.0/UDP 192.0.2.10:5062'],
    ['a Contact asking for a flow (RFC 5626 ob)', true, '<sip:alice@192.0.2.10;ob>'],
  ])('NAT: %s → nat %s', async (_, nat, contact, via = fromSource) => {
    const r = registrar();
    const request = registerRequest({ contacts: [contact] });
    request.replaceFirst('Via', `${via};branch=z9hG4bKnat`);
    await r.send(request, { registration: { source: { transport: 'udp', address: '192.0.2.10', port: 5060 } } });
    const [binding] = await r.locations.lookup(ALICE, T0);
    expect(JSON.parse(binding!.data).nat === true).toBe(nat);
  });
});

describe('processRegister: Path (RFC 3327 §5.3)', () => {
  const PATH = ['<sip:edge1.example.net;lr>', '<sip:p2.example.net;lr>'];

  it('stores the Path with the binding, in order, and returns it when the UA supports path', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({
        contacts: ['<sip:alice@192.0.2.10>'],
        extra: [`Path: ${PATH[0]}`, `Path: ${PATH[1]}`, 'Supported: path'],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.values('path')).toEqual(PATH);
    const [target] = await targets(r);
    expect(target?.data.path).toEqual(PATH);
  });

  it('stores a Path the UA does not know of, but returns none', async () => {
    const r = registrar();
    const res = await r.send(registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], extra: [`Path: ${PATH[0]}`] }));
    expect(res.status).toBe(200);
    expect(res.has('path')).toBe(false);
    expect((await targets(r))[0]?.data.path).toEqual([PATH[0]]);
  });

  it('a Path value that is not a SIP URI: 400, nothing stored', async () => {
    const r = registrar();
    const res = await r.send(
      registerRequest({ contacts: ['<sip:alice@192.0.2.10>'], extra: ['Path: <tel:+15551234>'] }),
    );
    expect(res.status).toBe(400);
    expect(await bindingsOf(r)).toEqual([]);
  });
});
