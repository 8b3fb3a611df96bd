/**
 * Topology hiding between the inside (trusted, 10.0.0.0/8 here) and the outside (libs/proxy
 * topology.ts): a call from either side to the other, with a re-INVITE and its ACK from each side
 * and a BYE from one, through two workers. Everything each side's UA or proxy receives is checked
 * for the other side's addresses, and every request of the dialog reaches its UA at its real
 * Contact, through its real route set.
 */
import type { SipMessage } from '@sipedge/sip';
import { buildResponse } from '@sipedge/sip';
import { afterEach, describe, expect, it } from 'vitest';
import type { TuDeps } from '../src/tu.js';
import { Harness, type Sent, sip } from './harness.js';
import { type Address, registered } from './support/requests.js';

/** A UA, and the proxy of its own side it sends and receives through (which Record-Routes), if any. */
interface Party {
  user: string;
  tag: string;
  ua: Address;
  proxy?: Address;
}

/** `user` (dialog tag `<user>-tag`) with its UA at `ua`, behind `proxy` if there is one. */
const party = (user: string, ua: Address, proxy?: Address): Party => ({
  user,
  tag: `${user}-tag`,
  ua,
  ...(proxy === undefined ? {} : { proxy }),
});

const ALICE_OUTSIDE = party('alice', { address: '203.0.113.5', port: 5062 }, { address: '198.51.100.7', port: 5060 });
const BOB_INSIDE = party('bob', { address: '10.0.0.20', port: 5080 });
const CAROL_INSIDE = party('carol', { address: '10.0.0.21', port: 5090 }, { address: '10.0.0.8', port: 5060 });
const DAVE_OUTSIDE = party('dave', { address: '203.0.113.9', port: 5070 });

const INSIDE = (address: string) => address.startsWith('10.');
const HIDING: Partial<TuDeps> = { isTrusted: INSIDE, topologyHiding: 'untrusted' };

const firstHop = (p: Party) => p.proxy ?? p.ua;
const aor = (p: Party) => `<sip:${p.user}@example.com>`;
const tagged = (p: Party) => `${aor(p)};tag=${p.tag}`;
const contactOf = (p: Party) => `sip:${p.user}@${p.ua.address}:${p.ua.port}`;
/** What of `p` the other side must never see: its UA's address and port, its proxy's address. */
const secretsOf = (p: Party) => [p.ua.address, `:${p.ua.port}`, ...(p.proxy === undefined ? [] : [p.proxy.address])];

const uriOf = (nameAddr: string) => nameAddr.replace(/^<|>.*$/g, '');
/** The URI of a message's Contact (a remote target, §12.1). */
const contact = (m: SipMessage): string => uriOf(m.get('contact') ?? '');

/** One side of the dialog as its UA keeps it (§12.1): route set, remote target, its own and the remote URI. */
interface Leg {
  party: Party;
  routeSet: string[];
  remoteTarget: string;
  local: string;
  remote: string;
  cseq: number;
}

describe('topology hiding (untrusted ↔ trusted)', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  let branches = 0;

  async function register(p: Party): Promise<void> {
    await registered(h, { user: p.user, contact: p.ua, callId: `reg-${p.user}`, tag: 'r' });
  }

  /**
   * `p` sends a request, as it reaches this proxy: through its proxy (its Via on top, its
   * Record-Route on an initial request, its own Route consumed, §16.4).
   */
  async function send(
    p: Party,
    r: { method: string; uri: string; routes: string[]; from: string; to: string; cseq: number; callId: string },
  ): Promise<void> {
    const branch = `${++branches}`;
    const initial = !r.to.includes(';tag=');
    const { proxy } = p;
    await h.receive(
      sip([
        `${r.method} ${r.uri} SIP/2.0`,
        ...(proxy === undefined ? [] : [`Via: SIP/2.0/UDP ${proxy.address}:${proxy.port};branch=z9hG4bKp${branch}`]),
        `Via: SIP/2.0/UDP ${p.ua.address}:${p.ua.port};branch=z9hG4bKu${branch}`,
        'Max-Forwards: 69',
        ...(proxy !== undefined && initial ? [`Record-Route: <sip:${proxy.address}:${proxy.port};lr>`] : []),
        ...(proxy === undefined ? r.routes : r.routes.slice(1)).map((route) => `Route: ${route}`),
        `From: ${r.from}`,
        `To: ${r.to}`,
        `Call-ID: ${r.callId}`,
        `CSeq: ${r.cseq} ${r.method}`,
        ...(r.method === 'INVITE' ? [`Contact: <${contactOf(p)}>`] : []),
      ]),
      firstHop(p),
    );
  }

  /** What this proxy sent `p` (to its proxy or its UA) that matches. */
  const sentTo = (p: Party, match: (m: SipMessage) => boolean): Promise<Sent> =>
    h.waitFor((s) => s.meta.destination.address === firstHop(p).address && match(s.message));

  /** A request as `p`'s UA gets it: its proxy added its Via (and Record-Route if initial) and took its Route. */
  function atUa(p: Party, request: SipMessage): SipMessage {
    const { proxy } = p;
    if (proxy === undefined) return request;
    const copy = request.clone();
    copy.prepend('Via', `SIP/2.0/UDP ${proxy.address}:${proxy.port};branch=z9hG4bKpx${++branches}`);
    if (request.to.tag === undefined) copy.prepend('Record-Route', `<sip:${proxy.address}:${proxy.port};lr>`);
    if (copy.routes[0]?.uri.toString().startsWith(`sip:${proxy.address}`)) copy.removeFirst('Route');
    return copy;
  }

  /** `p`'s UA answers a request it got (Record-Routes copied, a Contact on 1xx/2xx); as it reaches this proxy. */
  async function answer(p: Party, request: SipMessage, status: number): Promise<void> {
    const response = buildResponse(request, status, {
      toTag: p.tag,
      headers: [
        ...request.values('record-route').map((rr): [string, string] => ['Record-Route', rr]),
        ...(request.method === 'INVITE' && status < 300 ? [['Contact', `<${contactOf(p)}>`] as [string, string]] : []),
      ],
    });
    if (p.proxy !== undefined) response.removeFirst('Via');
    await h.receive(response.toString(), firstHop(p));
  }

  /** A response as `p`'s UA gets it (its proxy removed its own Via). */
  function responseAtUa(p: Party, response: SipMessage): SipMessage {
    const copy = response.clone();
    if (p.proxy !== undefined) copy.removeFirst('Via');
    return copy;
  }

  const isRequest = (method: string, callId: string, cseq: number) => (m: SipMessage) =>
    m.isRequest && m.method === method && m.callId === callId && m.cseq.seq === cseq;
  const isResponse = (status: number, method: string, callId: string, cseq: number) => (m: SipMessage) =>
    m.isResponse && m.status === status && m.cseq.method === method && m.callId === callId && m.cseq.seq === cseq;

  /** `from` sends a request of the dialog; `to`'s UA gets it at its own Contact and answers (but an ACK). */
  async function inDialog(from: Leg, to: Leg, method: string, callId: string): Promise<SipMessage> {
    const cseq = method === 'ACK' ? from.cseq : ++from.cseq;
    await send(from.party, {
      method,
      uri: from.remoteTarget,
      routes: from.routeSet,
      from: from.local,
      to: from.remote,
      cseq,
      callId,
    });
    const got = atUa(to.party, (await sentTo(to.party, isRequest(method, callId, cseq))).message);
    // Restored: the UA's real Contact as the Request-URI, the rest of its own side's route set.
    expect(got.requestUriText).toBe(contactOf(to.party));
    expect(got.routes).toEqual([]);
    if (method === 'ACK') return got;
    await answer(to.party, got, 200);
    const answered = await sentTo(from.party, isResponse(200, method, callId, cseq));
    return responseAtUa(from.party, answered.message);
  }

  /**
   * A whole call from `caller` to `callee` (registered): INVITE, 180, 200 and ACK; a re-INVITE and
   * its ACK from each side; a BYE from `hangsUp`. Returns everything each side received.
   */
  async function call(caller: Party, callee: Party, hangsUp: 'caller' | 'callee', callId: string) {
    await register(callee);
    await send(caller, {
      method: 'INVITE',
      uri: `sip:${callee.user}@example.com`,
      routes: [],
      from: tagged(caller),
      to: aor(callee),
      cseq: 1,
      callId,
    });
    const invite = atUa(callee, (await sentTo(callee, isRequest('INVITE', callId, 1))).message);
    expect(invite.requestUriText).toBe(contactOf(callee));
    await answer(callee, invite, 180);
    await sentTo(caller, isResponse(180, 'INVITE', callId, 1));
    await answer(callee, invite, 200);
    const ok = responseAtUa(caller, (await sentTo(caller, isResponse(200, 'INVITE', callId, 1))).message);
    // The caller's own Vias came back, in order (§16.7 step 3): its response reached it.
    expect(ok.vias.map((v) => `${v.host}:${v.port}`)).toEqual([`${caller.ua.address}:${caller.ua.port}`]);
    const callerLeg: Leg = {
      party: caller,
      routeSet: [...ok.values('record-route')].reverse(),
      remoteTarget: contact(ok),
      local: tagged(caller),
      remote: tagged(callee),
      cseq: 1,
    };
    const calleeLeg: Leg = {
      party: callee,
      routeSet: invite.values('record-route'),
      remoteTarget: contact(invite),
      local: tagged(callee),
      remote: tagged(caller),
      cseq: 100,
    };
    await inDialog(callerLeg, calleeLeg, 'ACK', callId);
    const reinvited = await inDialog(callerLeg, calleeLeg, 'INVITE', callId);
    expect(reinvited.vias).toHaveLength(1);
    await inDialog(callerLeg, calleeLeg, 'ACK', callId);
    const calleeReinvited = await inDialog(calleeLeg, callerLeg, 'INVITE', callId);
    expect(calleeReinvited.vias).toHaveLength(1);
    await inDialog(calleeLeg, callerLeg, 'ACK', callId);
    const bye =
      hangsUp === 'caller'
        ? await inDialog(callerLeg, calleeLeg, 'BYE', callId)
        : await inDialog(calleeLeg, callerLeg, 'BYE', callId);
    expect(bye.status).toBe(200);
    const textTo = (p: Party) =>
      h.sent
        .filter((s) => s.meta.destination.address === firstHop(p).address && s.message.callId === callId)
        .map((s) => s.message.toString());
    return { callerGot: textTo(caller), calleeGot: textTo(callee) };
  }

  /** Each text that contains one of `secrets`, with the secret: none expected. */
  const leaks = (texts: string[], secrets: string[]) =>
    texts.flatMap((text) => secrets.filter((secret) => text.includes(secret)).map((secret) => [secret, text]));

  describe.each([
    ['an outside caller (through its proxy) to an inside callee', ALICE_OUTSIDE, BOB_INSIDE],
    ['an inside caller (through its proxy) to an outside callee', CAROL_INSIDE, DAVE_OUTSIDE],
  ])('%s', (_, caller, callee) => {
    it.each(['caller', 'callee'] as const)(
      "neither side sees the other's addresses; re-INVITEs, ACKs and the BYE from the %s pass",
      async (hangsUp) => {
        h = await Harness.start(2, HIDING);
        const { callerGot, calleeGot } = await call(caller, callee, hangsUp, `hidden-${caller.user}-${hangsUp}`);
        // INVITE, ACK, re-INVITE, ACK; the callee's re-INVITE's 200; and the BYE or its 200.
        expect(calleeGot.length).toBeGreaterThanOrEqual(6);
        expect(callerGot.length).toBeGreaterThanOrEqual(6);
        expect(leaks(calleeGot, secretsOf(caller))).toEqual([]);
        expect(leaks(callerGot, secretsOf(callee))).toEqual([]);
      },
    );
  });

  it('between two outside sides (untrusted mode) nothing is hidden', async () => {
    h = await Harness.start(1, HIDING);
    await call(ALICE_OUTSIDE, DAVE_OUTSIDE, 'caller', 'outside-outside');
    const invite = await sentTo(DAVE_OUTSIDE, isRequest('INVITE', 'outside-outside', 1));
    expect(invite.message.vias.map((v) => v.host)).toEqual(['127.0.0.1', '198.51.100.7', '203.0.113.5']);
    expect(invite.message.get('contact')).toBe(`<${contactOf(ALICE_OUTSIDE)}>`);
  });

  it('with all, even two inside sides are hidden from each other', async () => {
    h = await Harness.start(2, { ...HIDING, topologyHiding: 'all' });
    const { callerGot, calleeGot } = await call(CAROL_INSIDE, BOB_INSIDE, 'callee', 'all-inside');
    expect(leaks(calleeGot, secretsOf(CAROL_INSIDE))).toEqual([]);
    expect(leaks(callerGot, secretsOf(BOB_INSIDE))).toEqual([]);
  });

  it('off (the default): the callee gets the Vias, Record-Route and Contact of the caller side', async () => {
    h = await Harness.start(1, { isTrusted: INSIDE });
    await call(ALICE_OUTSIDE, BOB_INSIDE, 'callee', 'not-hidden');
    const invite = (await sentTo(BOB_INSIDE, isRequest('INVITE', 'not-hidden', 1))).message;
    expect(invite.vias.map((v) => v.host)).toEqual(['127.0.0.1', '198.51.100.7', '203.0.113.5']);
    expect(invite.values('record-route')[2]).toBe('<sip:198.51.100.7:5060;lr>');
    expect(invite.get('contact')).toBe(`<${contactOf(ALICE_OUTSIDE)}>`);
  });

  it('a forged request to a masked Contact still gets 403 and reaches no one', async () => {
    h = await Harness.start(1, HIDING);
    await call(ALICE_OUTSIDE, BOB_INSIDE, 'caller', 'real');
    const invite = (await sentTo(BOB_INSIDE, isRequest('INVITE', 'real', 1))).message;
    const masked = contact(invite);
    const ok = (await sentTo(ALICE_OUTSIDE, isResponse(200, 'INVITE', 'real', 1))).message;
    const maskedCallee = contact(ok);
    const routeSet = [...ok.values('record-route')].reverse();
    const before = h.sent.filter((s) => s.meta.destination.address === BOB_INSIDE.ua.address).length;
    const forgeries: [string, { uri: string; routes: string[]; callId: string }][] = [
      [
        'a plain Route to us',
        { uri: maskedCallee, routes: ['<sip:198.51.100.7;lr>', '<sip:127.0.0.1:5060;lr>'], callId: 'real' },
      ],
      ['no Route', { uri: maskedCallee, routes: ['<sip:198.51.100.7;lr>'], callId: 'real' }],
      ['the real route set under another Call-ID', { uri: maskedCallee, routes: routeSet, callId: 'forged' }],
      ["the caller's own masked Contact", { uri: masked, routes: routeSet, callId: 'forged-2' }],
    ];
    for (const [what, forged] of forgeries) {
      await send(ALICE_OUTSIDE, {
        method: 'INVITE',
        from: tagged(ALICE_OUTSIDE),
        to: tagged(BOB_INSIDE),
        cseq: 50,
        ...forged,
      });
      const answered = await sentTo(
        ALICE_OUTSIDE,
        (m) => m.isResponse && m.callId === forged.callId && m.cseq.seq === 50 && m.status >= 200,
      );
      expect([what, answered.message.status]).toEqual([what, 403]);
    }
    expect(h.sent.filter((s) => s.meta.destination.address === BOB_INSIDE.ua.address)).toHaveLength(before);
  });
});
