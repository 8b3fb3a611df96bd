import { processRegister } from '@sipedge/registrar';
import { type SipMessage, type SipUri, parseMessage } from '@sipedge/sip';
import { MemoryLocationStore } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import {
  type ProxyConfig,
  type StaticRoute,
  type TargetOptions,
  determineTargets,
  isForeign,
  isServedDomain,
  prepareForward,
  validateStaticRoutes,
  withRoute,
} from '../src/index.js';
import { TEST_CONFIG } from './config.js';

/** Epoch ms of "now": in the future, as the memory store expires whole AORs by the real clock. */
const T0 = Date.UTC(2100, 0, 1);

const config: ProxyConfig = TEST_CONFIG;

function msg(lines: string[]): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
}

function invite(uri: string, extra: string[] = []): SipMessage {
  return msg([
    `INVITE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    `To: <${uri.startsWith('sip') ? uri : 'sip:x@example.com'}>`,
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    ...extra,
    'Content-Length: 0',
  ]);
}

let registerSeq = 0;

/** Registers contacts for an AOR through the registrar (§10.3), as a UA would. */
async function register(locations: MemoryLocationStore, aor: string, contacts: string[], callId?: string) {
  const request = msg([
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKreg' + ++registerSeq,
    'Max-Forwards: 70',
    `To: <${aor}>`,
    `From: <${aor}>;tag=r1`,
    `Call-ID: ${callId ?? `reg-${registerSeq}@192.0.2.50`}`,
    `CSeq: ${registerSeq} REGISTER`,
    ...contacts.map((c) => `Contact: ${c}`),
    'Content-Length: 0',
  ]);
  const outcome = await processRegister(request, {
    locations,
    now: T0,
    domains: ['example.com'],
    registration: { edgeId: 'edge-1', flowId: 'flow-9' },
  });
  if (outcome.kind !== 'response' || outcome.response.status !== 200) throw new Error('REGISTER failed');
}

function options(locations: MemoryLocationStore, extra: Partial<TargetOptions> = {}): TargetOptions {
  return { config, locations, now: T0, ...extra };
}

describe('determineTargets: served domain → location service (§16.5, §10.3, §19.1.4)', () => {
  it('turns the bindings into targets, highest q first, with their registration data', async () => {
    const locations = new MemoryLocationStore();
    await register(locations, 'sip:bob@example.com', [
      '<sip:bob@192.0.2.20:5062;transport=tcp>;q=0.5',
      '<sip:bob@192.0.2.21>;q=1.0',
    ]);
    const outcome = await determineTargets(invite('sip:bob@example.com'), options(locations));
    expect(outcome).toEqual({
      kind: 'targets',
      targets: [
        { uri: 'sip:bob@192.0.2.21', q: 1, source: 'location', binding: expect.objectContaining({ flowId: 'flow-9' }) },
        { uri: 'sip:bob@192.0.2.20:5062;transport=tcp', q: 0.5, source: 'location', binding: expect.any(Object) },
      ],
    });
  });

  it('canonicalises the Request-URI (host case, user=phone) but not the user part', async () => {
    const locations = new MemoryLocationStore();
    await register(locations, 'sip:Alice@example.com', ['<sip:alice@192.0.2.30>']);
    const hit = await determineTargets(invite('sip:Alice@EXAMPLE.COM;user=phone'), options(locations));
    expect(hit).toEqual({ kind: 'targets', targets: [expect.objectContaining({ uri: 'sip:alice@192.0.2.30' })] });
    const miss = await determineTargets(
      invite('sip:alice@example.com'),
      options(locations, { isKnownUser: () => false }),
    );
    expect(miss).toEqual({ kind: 'respond', status: 404 });
  });

  it('the same contact registered twice (two Call-IDs) gives one target', async () => {
    const locations = new MemoryLocationStore();
    await register(locations, 'sip:bob@example.com', ['<sip:bob@192.0.2.20>'], 'first@ua');
    await register(locations, 'sip:bob@example.com', ['<sip:bob@192.0.2.20>'], 'second@ua');
    const outcome = await determineTargets(invite('sip:bob@example.com'), options(locations));
    expect(outcome.kind === 'targets' && outcome.targets.map((t) => t.uri)).toEqual(['sip:bob@192.0.2.20']);
  });

  it('stored bindings whose contacts are §19.1.4-equal give one target (one downstream INVITE)', async () => {
    const locations = new MemoryLocationStore();
    // Two bindings under different keys (as an older key scheme might have left them) whose
    // contacts differ only in host case and escaping: equal URIs, so one target.
    await locations.register(
      'sip:bob@example.com',
      {
        type: 'update',
        callId: 'c1',
        cseq: 1,
        bindings: [
          { uriKey: 'k1', contact: '<sip:bob@UA.example.net>', expires: 600, q: 1, data: '{}' },
          { uriKey: 'k2', contact: '<sip:%62ob@ua.example.net>', expires: 300, q: 1, data: '{}' },
          { uriKey: 'k3', contact: '<sip:bob@other.example.net>', expires: 300, q: 0.5, data: '{}' },
        ],
      },
      T0,
    );
    const outcome = await determineTargets(invite('sip:bob@example.com'), options(locations));
    expect(outcome.kind === 'targets' && outcome.targets.map((t) => [t.uri, t.q])).toEqual([
      ['sip:bob@UA.example.net', 1],
      ['sip:bob@other.example.net', 0.5],
    ]);
  });

  it('no bindings → 404 for an unknown user, 480 for a known one, 485 when ambiguous', async () => {
    const locations = new MemoryLocationStore();
    const asked: string[] = [];
    const isKnownUser = async (aor: string) => {
      asked.push(aor);
      return aor === 'sip:carol@example.com' ? true : aor === 'sip:john.smith@example.com' ? 'ambiguous' : false;
    };
    const o = options(locations, { isKnownUser });
    expect(await determineTargets(invite('sip:dave@example.com'), o)).toEqual({ kind: 'respond', status: 404 });
    expect(await determineTargets(invite('sip:carol@Example.Com;user=phone'), o)).toEqual({
      kind: 'respond',
      status: 480,
      reason: 'Temporarily Unavailable',
    });
    expect(await determineTargets(invite('sip:john.smith@example.com'), o)).toMatchObject({ status: 485 });
    expect(asked).toEqual(['sip:dave@example.com', 'sip:carol@example.com', 'sip:john.smith@example.com']);
  });

  it('without a user directory (no isKnownUser) an AOR without bindings gets 480', async () => {
    const outcome = await determineTargets(invite('sip:nobody@example.com'), options(new MemoryLocationStore()));
    expect(outcome).toMatchObject({ kind: 'respond', status: 480 });
  });

  it('§16.5: a URI with one of our hosts but another port names an endpoint beside us, not our domain', async () => {
    const locations = new MemoryLocationStore();
    const served = { ...config, domains: new Set(['192.0.2.10']) };
    const beside = await determineTargets(invite('sip:192.0.2.10:5080;transport=udp'), {
      config: served,
      locations,
      now: T0,
    });
    expect(beside).toEqual({
      kind: 'targets',
      targets: [{ uri: 'sip:192.0.2.10:5080;transport=udp', q: 1, source: 'foreign' }],
    });
    // Our own port, or none, is still the domain we serve: the location service answers.
    for (const uri of ['sip:bob@192.0.2.10:5060', 'sip:bob@192.0.2.10']) {
      expect(await determineTargets(invite(uri), { config: served, locations, now: T0 })).toMatchObject({
        status: 480,
      });
    }
  });

  it('recognises a served domain case-insensitively and with a port (the AOR keeps the port)', async () => {
    const asked: string[] = [];
    const o = options(new MemoryLocationStore(), {
      isKnownUser: (aor) => {
        asked.push(aor);
        return false;
      },
    });
    expect(await determineTargets(invite('sip:bob@EXAMPLE.com:5070'), o)).toEqual({ kind: 'respond', status: 404 });
    expect(asked).toEqual(['sip:bob@example.com:5070']);
    expect(isServedDomain('Example.COM', config)).toBe(true);
    expect(isServedDomain('[2001:db8::1]', { domains: new Set(['2001:DB8::1']) })).toBe(true);
    expect(isServedDomain('example.org', config)).toBe(false);
  });

  it('only sips (or transport=tls) contacts serve a SIPS Request-URI; none → 480 with warning 380', async () => {
    const locations = new MemoryLocationStore();
    await register(locations, 'sip:bob@example.com', ['<sip:bob@192.0.2.20>']);
    expect(await determineTargets(invite('sips:bob@example.com'), options(locations))).toEqual({
      kind: 'respond',
      status: 480,
      reason: 'SIPS Not Allowed',
      warnCode: 380,
    });
    await register(locations, 'sip:bob@example.com', [
      '<sips:bob@192.0.2.21>;q=0.4',
      '<sip:bob@192.0.2.22;transport=tls>;q=0.3',
    ]);
    const outcome = await determineTargets(invite('sips:bob@example.com'), options(locations));
    expect(outcome.kind === 'targets' && outcome.targets.map((t) => t.uri)).toEqual([
      'sips:bob@192.0.2.21',
      'sip:bob@192.0.2.22;transport=tls',
    ]);
    // A sip: Request-URI may use every contact.
    const plain = await determineTargets(invite('sip:bob@example.com'), options(locations));
    expect(plain.kind === 'targets' && plain.targets).toHaveLength(3);
  });
});

describe('determineTargets: foreign domains, maddr and static routes (§16.5)', () => {
  const routes: StaticRoute[] = [
    { match: { domain: 'pstn.example.com' }, to: 'sip:trunk.carrier.example.net:5080;transport=tcp' },
    { match: { userPrefix: '+44' }, to: { dispatcher: 'uk-gateways' } },
    { match: { domain: 'lab.example.org', userPrefix: '9' }, to: 'sips:gw.lab.example.org;lr' },
  ];

  it('a foreign domain → the Request-URI, unchanged, as the only target', async () => {
    const uri = 'sip:Bob@Foreign.TEST;transport=tcp;x=%41';
    const request = invite(uri);
    const outcome = await determineTargets(request, options(new MemoryLocationStore(), { staticRoutes: routes }));
    expect(outcome).toEqual({ kind: 'targets', targets: [{ uri, q: 1, source: 'foreign' }] });
    expect(isForeign(request, config)).toBe(true);
  });

  it('§16.5 ¶2: a Request-URI with maddr is the only target, even in a served domain', async () => {
    const locations = new MemoryLocationStore();
    await register(locations, 'sip:bob@example.com', ['<sip:bob@192.0.2.20>']);
    const uri = 'sip:bob@example.com;maddr=192.0.2.99';
    expect(await determineTargets(invite(uri), options(locations))).toEqual({
      kind: 'targets',
      targets: [{ uri, q: 1, source: 'maddr' }],
    });
  });

  it('a static route keeps the Request-URI and forces the next hop (a loose Route)', async () => {
    const o = options(new MemoryLocationStore(), { staticRoutes: routes });
    expect(await determineTargets(invite('sip:+15551234@PSTN.example.com;user=phone'), o)).toEqual({
      kind: 'targets',
      targets: [
        {
          uri: 'sip:+15551234@PSTN.example.com;user=phone',
          q: 1,
          source: 'static-route',
          route: 'sip:trunk.carrier.example.net:5080;transport=tcp;lr',
        },
      ],
    });
    // Both conditions must hold; an existing lr is not doubled.
    expect(await determineTargets(invite('sip:9123@lab.example.org'), o)).toMatchObject({
      targets: [{ route: 'sips:gw.lab.example.org;lr' }],
    });
    expect(await determineTargets(invite('sip:8123@lab.example.org'), o)).toMatchObject({
      targets: [{ source: 'foreign' }],
    });
  });

  it('a dispatcher route returns a marker; tel: numbers match by prefix without visual separators', async () => {
    const o = options(new MemoryLocationStore(), { staticRoutes: routes });
    expect(await determineTargets(invite('tel:+44-20-7946-0000'), o)).toEqual({
      kind: 'targets',
      targets: [{ uri: 'tel:+44-20-7946-0000', q: 1, source: 'static-route', dispatcher: 'uk-gateways' }],
    });
    expect(await determineTargets(invite('sip:+44(20)79460000@carrier.example;user=phone'), o)).toMatchObject({
      targets: [{ dispatcher: 'uk-gateways' }],
    });
  });

  it('a tel: Request-URI that no route matches → 416; served domains win over static routes', async () => {
    const o = options(new MemoryLocationStore(), {
      staticRoutes: [...routes, { match: { domain: 'example.com' }, to: 'sip:never.example.net' }],
      isKnownUser: () => false,
    });
    expect(await determineTargets(invite('tel:+12015550123'), o)).toMatchObject({ kind: 'respond', status: 416 });
    expect(await determineTargets(invite('sip:bob@example.com'), o)).toEqual({ kind: 'respond', status: 404 });
  });

  it('a request that still has a Route set is not statically routed: the Route decides the next hop', async () => {
    const o = options(new MemoryLocationStore(), { staticRoutes: routes });
    const request = invite('sip:+15551234@pstn.example.com', ['Route: <sip:p2.example.net;lr>']);
    expect(await determineTargets(request, o)).toEqual({
      kind: 'targets',
      targets: [{ uri: 'sip:+15551234@pstn.example.com', q: 1, source: 'foreign' }],
    });
  });

  it('withRoute + prepareForward: the trunk is the next hop and the Request-URI is untouched (§16.6)', async () => {
    const request = invite('sip:+15551234@pstn.example.com;user=phone');
    const outcome = await determineTargets(request, options(new MemoryLocationStore(), { staticRoutes: routes }));
    if (outcome.kind !== 'targets') throw new Error('expected targets');
    const [target] = outcome.targets;
    const routed = withRoute(request, target!.route!);
    expect(request.routes).toHaveLength(0); // the input is not modified
    const prepared = prepareForward(routed, routed.requestUri as SipUri, { config, recordRoute: true });
    expect(prepared.message.requestUriText).toBe('sip:+15551234@pstn.example.com;user=phone');
    expect(prepared.message.rows.find((r) => r.key === 'route')?.value).toBe(
      '<sip:trunk.carrier.example.net:5080;transport=tcp;lr>',
    );
    expect(prepared.nextHop).toMatchObject({ host: 'trunk.carrier.example.net', port: 5080, transport: 'tcp' });
  });

  it('isForeign: served domains and our own hosts are not foreign; tel: is', () => {
    expect(isForeign(invite('sip:bob@EXAMPLE.COM'), config)).toBe(false);
    expect(isForeign(invite('sip:edge.example.com'), config)).toBe(false);
    expect(isForeign(invite('sip:bob@192.0.2.10:5060'), config)).toBe(false);
    expect(isForeign(invite('sip:bob@example.org'), config)).toBe(true);
    expect(isForeign(invite('tel:+12015550123'), config)).toBe(true);
  });

  it('validateStaticRoutes names the bad entry', () => {
    expect(() => validateStaticRoutes(routes)).not.toThrow();
    expect(() => validateStaticRoutes([{ match: {}, to: 'tel:+1555' }])).toThrow(/static route 0: .*not a SIP/);
    expect(() => validateStaticRoutes([...routes, { match: {}, to: 'not a uri' }])).toThrow(/static route 3/);
    expect(() => validateStaticRoutes([{ match: { domain: ' ' }, to: 'sip:a.example' }])).toThrow(/empty match/);
    expect(() => validateStaticRoutes([{ match: {}, to: { dispatcher: '' } }])).toThrow(/dispatcher/);
  });
});
