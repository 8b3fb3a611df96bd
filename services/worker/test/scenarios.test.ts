/** Proxy scenarios through the worker core (issue 6 rows), with the memory twins and a stand-in edge. */
import { StaticUserDirectory, TableUserDirectory, type UserDirectory, firstFound } from '@sipedge/auth';

import { parseOurBranch } from '@sipedge/proxy';
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { MemoryUserTable } from '@sipedge/store';
import { DEFAULT_TIMERS, serverKey } from '@sipedge/transaction';
import { HEALTH_KEY, contextIdOf, recordKey } from '../src/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Harness, resolveIpLiteral, sip } from './harness.js';
import { credentials, digestAuth } from './support/auth.js';
import { type Address, registerLines as registration, request } from './support/requests.js';

const UAC = { address: '192.0.2.1', port: 5060 };
const A = { address: '192.0.2.20', port: 5070 };
const B = { address: '192.0.2.21', port: 5070 };

const registerLines = (contact: Address, cseq: number, q?: string) =>
  registration({
    contact,
    callId: `reg-${contact.address}`,
    branch: `r${cseq}${contact.address}`,
    cseq,
    q,
    extra: ['Expires: 3600'],
  });
const invite = (callId: string, uri = 'sip:bob@example.com') =>
  request({ method: 'INVITE', uri, callId, via: UAC, to: `<${uri}>` });
const reply = (request: SipMessage, status: number, tag: string) =>
  buildResponse(request, status, { toTag: tag }).toString();
const forkTo = (h: Harness, who: { address: string }) =>
  h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE' && s.meta.destination.address === who.address);

describe('proxy scenarios through the worker', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  async function registerBoth(qA?: string, qB?: string) {
    await h.receive(sip(registerLines(A, 1, qA)), A);
    await h.receive(sip(registerLines(B, 1, qB)), B);
    await h.waitFor((s) => s.message.status === 200 && s.meta.destination.address === B.address);
    await h.waitFor((s) => s.message.status === 200 && s.meta.destination.address === A.address);
  }

  it('§16.6, §16.7: parallel forks, one busy and one answering: the 200 goes up, nothing else', async () => {
    h = await Harness.start(2);
    await registerBoth();
    await h.receive(invite('fork-1'), UAC);
    const [toA, toB] = [(await forkTo(h, A)).message, (await forkTo(h, B)).message];
    expect(toA.topVia?.branch).not.toBe(toB.topVia?.branch);
    await h.receive(reply(toA, 486, 'a'), A);
    await h.receive(reply(toB, 200, 'b'), B);
    const ok = await h.waitFor((s) => s.message.status === 200 && s.message.get('CSeq') === '1 INVITE');
    expect(ok.meta.destination).toEqual(UAC);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sent.filter((s) => s.message.status === 486)).toEqual([]);
    // The busy fork was ACKed hop by hop.
    await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'ACK' && s.meta.destination.address === A.address,
    );
  });

  it('§16.6: sequential forking by q: the lower q is tried only after the first answers 486; best response upstream', async () => {
    h = await Harness.start(2);
    await registerBoth('1.0', '0.5');
    await h.receive(invite('seq-1'), UAC);
    const toA = (await forkTo(h, A)).message;
    await new Promise((r) => setTimeout(r, 50));
    expect(
      h.sent.some(
        (s) => s.message.isRequest && s.message.method === 'INVITE' && s.meta.destination.address === B.address,
      ),
    ).toBe(false);
    await h.receive(reply(toA, 486, 'a'), A);
    const toB = (await forkTo(h, B)).message;
    await h.receive(reply(toB, 404, 'b'), B);
    const best = await h.waitFor((s) => s.message.status >= 400 && s.meta.destination.address === UAC.address);
    expect(best.message.status).toBe(486);
  });

  it('§17.1.1.2, §16.9: no answer → 408 at Timer B; an unreachable target → 500', { timeout: 15_000 }, async () => {
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, t1: 20 } });
    await h.receive(sip(registerLines(A, 1)), A);
    await h.waitFor((s) => s.message.status === 200);
    await h.receive(invite('timeout-1'), UAC);
    await forkTo(h, A);
    const timeout = await h.waitFor((s) => s.message.status === 408, 5000);
    expect(timeout.meta.destination).toEqual(UAC);
    expect(timeout.message.to.tag).toBeDefined();

    // Over TCP the edge reports a refused connection; the fork counts as a 503, the answer is 500 (§16.9).
    h.unreachable.add(`${B.address}:5060`);
    await h.receive(invite('down-1', `sip:carol@${B.address};transport=tcp`), UAC);
    expect((await h.waitFor((s) => s.message.status === 500, 5000)).message.get('Call-ID')).toBe('down-1');
  });

  it('§16.8: Timer C after a 180 sends a CANCEL to the ringing fork and the 487 goes upstream', async () => {
    h = await Harness.start(2, {}, { timers: { ...DEFAULT_TIMERS, timerC: 300 } });
    await h.receive(sip(registerLines(A, 1)), A);
    await h.waitFor((s) => s.message.status === 200);
    await h.receive(invite('timerc-1'), UAC);
    const toA = (await forkTo(h, A)).message;
    await h.receive(reply(toA, 180, 'a'), A);
    const cancel = await h.waitFor((s) => s.message.isRequest && s.message.method === 'CANCEL', 5000);
    expect(cancel.message.topVia?.branch).toBe(toA.topVia?.branch);
    await h.receive(reply(toA, 487, 'a'), A);
    await h.waitFor((s) => s.message.status === 487 && s.meta.destination.address === UAC.address);
  });

  it.each([
    [
      'a plain TCP registration: the closed connection, then the Contact URI',
      '',
      ['192.0.2.30:40000', '192.0.2.30:5070'],
    ],
    [
      'an RFC 5626 flow (reg-id): the connection only',
      ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>";reg-id=1',
      ['192.0.2.30:40000'],
    ],
  ])('§18.1.1: %s', { timeout: 10_000 }, async (_, outbound, expected) => {
    h = await Harness.start(1);
    const source = { address: '192.0.2.30', port: 40000 };
    const lines = registerLines({ address: '192.0.2.30', port: 5070 }, 1).map((l) =>
      l.startsWith('Contact:')
        ? `Contact: <sip:bob@192.0.2.30:5070;transport=tcp>${outbound}`
        : l.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'),
    );
    if (outbound !== '') lines.push('Supported: outbound');
    await h.receive(sip(lines), source, 'tcp');
    await h.waitFor((s) => s.message.status === 200);
    h.unreachable.add('192.0.2.30:40000');
    const before = h.tried.length;
    await h.receive(invite('flow-gone-1'), UAC);
    await h.waitFor(
      (s) =>
        (s.message.isResponse && s.message.status >= 400) ||
        (s.message.isRequest && s.message.method === 'INVITE' && s.meta.destination.port === 5070),
      5000,
    );
    expect(h.tried.slice(before).filter((t) => t.startsWith('192.0.2.30:'))).toEqual(expected);
  });

  it('no open relay: an untrusted source gets 403 for a foreign domain', async () => {
    h = await Harness.start(1, { isTrusted: () => false });
    await h.receive(invite('relay-1', 'sip:someone@foreign.test'), UAC);
    const denied = await h.waitFor((s) => s.message.isResponse && s.message.status >= 400);
    expect([denied.message.status, denied.message.reason]).toEqual([403, 'Relaying Denied']);
  });

  it.each([
    [
      'configuration',
      async (): Promise<UserDirectory> =>
        new StaticUserDirectory([
          { username: 'bob', password: 'secret' },
          { username: 'eve', password: 'evil' },
        ]),
    ],
    [
      'the shared user table',
      async (): Promise<UserDirectory> => {
        const table = new MemoryUserTable();
        await table.put('example.com', 'bob', JSON.stringify({ password: 'secret' }));
        await table.put('example.com', 'eve', JSON.stringify({ password: 'evil' }));
        return firstFound(new StaticUserDirectory([]), new TableUserDirectory(table, () => undefined));
      },
    ],
  ])(
    '§10.3 steps 3–4 (users from %s): REGISTER is challenged with 401, accepted with credentials, and another user’s AOR gets 403',
    async (_source, makeUsers) => {
      const users = await makeUsers();
      h = await Harness.start(1, {
        auth: digestAuth({ users, algorithms: ['SHA-256', 'MD5'], register: true, proxy: false }),
      });
      await h.receive(sip(registerLines(A, 1)), A);
      const challenge = (await h.waitFor((s) => s.message.status === 401)).message;
      const authorization = (username: string, password: string, nc: number) =>
        credentials(challenge.wwwAuthenticates[0]!, {
          username,
          password,
          uri: 'sip:example.com',
          method: 'REGISTER',
          nc,
          cnonce: 'c1',
        });
      await h.receive(sip([...registerLines(A, 2), `Authorization: ${authorization('bob', 'secret', 1)}`]), A);
      const ok = await h.waitFor((s) => s.message.status === 200);
      expect(ok.message.values('Contact')).toHaveLength(1);
      await h.receive(sip([...registerLines(B, 3), `Authorization: ${authorization('eve', 'evil', 2)}`]), B);
      expect((await h.waitFor((s) => s.message.status === 403)).message.get('CSeq')).toBe('3 REGISTER');
    },
  );

  it('§16.5: an unknown user of our domain gets 404; a static route sends a foreign number to its trunk', async () => {
    h = await Harness.start(1, {
      isKnownUser: (aor) => aor === 'sip:bob@example.com',
      staticRoutes: [{ match: { domain: 'pstn.test' }, to: 'sip:192.0.2.99:5080' }],
    });
    await h.receive(invite('unknown-1', 'sip:nobody@example.com'), UAC);
    expect((await h.waitFor((s) => s.message.isResponse && s.message.status >= 400)).message.status).toBe(404);
    await h.receive(invite('trunk-1', 'sip:+15551234@pstn.test'), UAC);
    const toTrunk = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(toTrunk.meta.destination).toEqual({ address: '192.0.2.99', port: 5080 });
    expect(toTrunk.message.requestUriText).toBe('sip:+15551234@pstn.test');
    expect(toTrunk.message.values('Route')[0]).toBe('<sip:192.0.2.99:5080;lr>');
  });

  it('dispatcher set: round-robin first hop, failover to the next hop (new Route, new branch) on a transport error and a 503', async () => {
    const GW = ['sip:192.0.2.70:5060;transport=tcp', 'sip:192.0.2.71:5060', 'sip:192.0.2.72:5060'];
    let calls = 0;
    h = await Harness.start(
      1,
      {
        staticRoutes: [{ match: { domain: 'pstn.test' }, to: { dispatcher: 'gw' } }],
        dispatchers: { gw: { name: 'gw', algorithm: 'round-robin', hops: GW.map((uri) => ({ uri })) } },
        dispatchCounter: () => calls++,
      },
      // Probing is tested on its own; here every hop starts up.
      { probe: false },
    );
    h.unreachable.add('192.0.2.70:5060');
    await h.receive(invite('gw-1', 'sip:+15551234@pstn.test'), UAC);
    // After the first hop, failover follows the Call-ID's rendezvous order over the others.
    const second = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    const secondAddress = second.meta.destination.address;
    const thirdAddress = secondAddress === '192.0.2.71' ? '192.0.2.72' : '192.0.2.71';
    expect(['192.0.2.71', '192.0.2.72']).toContain(secondAddress);
    expect(second.message.requestUriText).toBe('sip:+15551234@pstn.test');
    expect(second.message.values('Route')).toEqual([`<sip:${secondAddress}:5060;lr>`]);
    await h.receive(buildResponse(second.message, 503, { toTag: 'g2' }).toString(), second.meta.destination);
    const third = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.meta.destination.address === thirdAddress,
    );
    expect(third.message.values('Route')).toEqual([`<sip:${thirdAddress}:5060;lr>`]);
    expect(third.message.topVia?.branch).not.toBe(second.message.topVia?.branch);
    await h.receive(buildResponse(third.message, 200, { toTag: 'g3' }).toString(), third.meta.destination);
    expect((await h.waitFor((s) => s.message.isResponse && s.message.status >= 200)).message.status).toBe(200);
    // Counter 0 chose the first hop of the set; it was tried first.
    expect(h.tried.find((d) => d !== `${UAC.address}:${UAC.port}`)).toBe('192.0.2.70:5060');
    // The next call (counter 1) skips the two hops that failed (blacklisted): the one that answered.
    const before = h.tried.length;
    await h.receive(invite('gw-2', 'sip:+15551234@pstn.test'), UAC);
    const next = await h.waitFor((s) => s.message.isRequest && s.message.get('Call-ID') === 'gw-2');
    expect(next.meta.destination.address).toBe(thirdAddress);
    expect(h.tried.slice(before)).not.toContain('192.0.2.70:5060');
    expect(calls).toBe(2);
  });

  it('dispatcher probing: an OPTIONS per hop; a refused or unanswered hop is skipped by dispatch, an answering one used', async () => {
    const GW = ['sip:192.0.2.80:5060;transport=tcp', 'sip:192.0.2.81:5060', 'sip:192.0.2.82:5060'];
    h = await Harness.start(
      2,
      {
        staticRoutes: [{ match: { domain: 'pstn.test' }, to: { dispatcher: 'gw' } }],
        dispatchers: { gw: { name: 'gw', algorithm: 'round-robin', hops: GW.map((uri) => ({ uri })) } },
        // Round robin would start at the third hop.
        dispatchCounter: () => 2,
      },
      { probe: { intervalMs: 150, timeoutMs: 100, holdDownMs: 60_000 } },
    );
    h.unreachable.add('192.0.2.80:5060');
    h.autoAnswer.set('192.0.2.81:5060', 200);
    const probes = await h.waitFor((s) => s.message.isRequest && s.message.method === 'OPTIONS');
    expect(probes.message.requestUriText).toMatch(/^sip:192\.0\.2\.8[12]:5060$/);
    // The first hop refused delivery; the third never answers: both down once a round has expired its probe.
    await vi.waitFor(
      async () => {
        const [stored] = await h.stores.records.load([HEALTH_KEY]);
        const down = Object.keys((JSON.parse(stored?.value ?? '{"down":{}}') as { down: object }).down);
        expect(down.sort()).toEqual([GW[0], GW[2]]);
      },
      { timeout: 3000, interval: 50 },
    );
    await h.receive(invite('probe-1', 'sip:+15551234@pstn.test'), UAC);
    const sent = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    expect(sent.meta.destination).toEqual({ address: '192.0.2.81', port: 5060 });
    // The answering hop was the first choice, not a failover.
    expect(parseOurBranch(sent.message.topVia!.branch!)).toMatchObject({ attempt: 0 });
  });

  it('§22.3, §8.2.7: a stateless 407 (no record, identical on retransmission, its ACK absorbed); only our realm’s credentials are consumed', async () => {
    const lookedUp: string[] = [];
    h = await Harness.start(1, {
      isTrusted: () => false,
      resolve: async (hop) => {
        lookedUp.push(hop.host);
        return resolveIpLiteral(hop);
      },
      auth: digestAuth(),
    });
    await h.receive(sip(registerLines(A, 1)), A);
    await h.waitFor((s) => s.message.status === 200);
    const first = invite('auth-1');
    await h.receive(first, UAC);
    const challenge = (await h.waitFor((s) => s.message.status === 407)).message;
    expect(await h.stores.records.load([recordKey(contextIdOf(serverKey(parseMessage(Buffer.from(first)))))])).toEqual([
      null,
    ]);
    await h.receive(first, UAC);
    await h.waitFor((s) => s.message.status === 407 && s.message !== challenge);
    const challenges = h.sent.filter((s) => s.message.status === 407);
    expect(challenges).toHaveLength(2);
    expect(challenges[1]!.message.toBuffer().equals(challenges[0]!.message.toBuffer())).toBe(true);
    // No request went downstream for the unauthenticated INVITE, and the ACK for the 407 stops here.
    const ack = first
      .replace('INVITE sip:bob@example.com SIP/2.0', 'ACK sip:bob@example.com SIP/2.0')
      .replace('1 INVITE', '1 ACK');
    await h.receive(
      ack.replace('To: <sip:bob@example.com>', `To: <sip:bob@example.com>;tag=${challenge.to.tag!}`),
      UAC,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sent.filter((s) => s.message.isRequest)).toEqual([]);
    // Authentication runs before routing: no next hop was resolved (no DNS query) for it either.
    await h.receive(invite('auth-foreign', 'sip:carol@far.test'), UAC);
    expect((await h.waitFor((s) => s.message.get('Call-ID') === 'auth-foreign')).message.status).toBe(407);
    expect(lookedUp).toEqual([]);

    const ours = credentials(challenge.proxyAuthenticates[0]!);
    const foreign = 'Digest username="x", realm="other.test", nonce="n", uri="sip:bob@example.com", response="00"';
    const retry = invite('auth-2').replace(
      'CSeq: 1 INVITE',
      `CSeq: 1 INVITE\r\nProxy-Authorization: ${ours}\r\nProxy-Authorization: ${foreign}`,
    );
    await h.receive(retry, UAC);
    const forwarded = (await forkTo(h, A)).message;
    expect(forwarded.values('Proxy-Authorization')).toEqual([foreign]);
  });
});
