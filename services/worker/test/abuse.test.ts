/**
 * Failed authentications ban the source (fail2ban, issue 14): after N wrong passwords a source's
 * requests are ignored by the worker (no challenge, no record), even with the right password,
 * while another source is still served; an unknown user and a wrong password get the same answer.
 */
import { AuthFailures, Bans } from '@sipedge/abuse';
import { CidrSet } from '@sipedge/net';
import { MemoryBusHub } from '@sipedge/bus';
import { MemoryAbuseStore } from '@sipedge/store';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, logger } from './harness.js';
import { credentials, digestAuth } from './support/auth.js';
import { type Address, register as registration } from './support/requests.js';

const ATTACKER = { address: '192.0.2.66', port: 5060 };
const PHONE = { address: '192.0.2.20', port: 5070 };

const register = (user: string, source: Address, cseq: number, extra: string[] = []) =>
  registration({
    user,
    contact: source,
    callId: `reg-${user}-${source.address}`,
    branch: `r-${user}-${source.address}-${cseq}`,
    tag: 'r',
    cseq,
    extra,
  });

describe('failed authentications ban the source', () => {
  let h: Harness;
  let bans: Bans;
  afterEach(async () => {
    await bans?.stop();
    await h?.stop();
  });

  async function start(): Promise<void> {
    const state = new MemoryAbuseStore();
    const exempt = new CidrSet(['10.0.0.0/8'], 'test');
    bans = new Bans(
      state,
      new MemoryBusHub().connect({ logger }),
      (a) => exempt.has(a),
      { durationMs: 60_000, syncMs: 60_000 },
      logger,
    );
    await bans.start();
    h = await Harness.start(1, {
      auth: digestAuth(
        {
          algorithms: ['MD5'],
          register: true,
          proxy: false,
          bans,
          failures: new AuthFailures(state, bans, { perSource: 3, perUser: 0, windowMs: 60_000 }, logger),
        },
        'right',
      ),
    });
  }

  /** Sends a REGISTER answering the challenge with `password`; the status of the answer, or 'nothing'. */
  async function attempt(user: string, password: string, source: typeof ATTACKER, cseq: number) {
    const before = h.sent.length;
    await h.receive(register(user, source, cseq), source);
    const challenge = (
      await h.waitFor(
        (s) => s.message.status === 401 && s.message.cseq.seq === cseq && s.meta.destination.address === source.address,
      )
    ).message;
    const authorization = credentials(challenge.wwwAuthenticates[0]!, {
      username: user,
      password,
      uri: 'sip:example.com',
      method: 'REGISTER',
    });
    await h.receive(register(user, source, cseq + 1, [`Authorization: ${authorization}`]), source);
    await new Promise((r) => setTimeout(r, 100));
    const answer = h.sent
      .slice(before)
      .find((s) => s.message.cseq.seq === cseq + 1 && s.meta.destination.address === source.address);
    return { status: answer?.message.status ?? 'nothing', challenge };
  }

  it('bans at the third failure: the next request, even with the right password, gets nothing', async () => {
    await start();
    // An unknown user and a wrong password get the same answer: a new challenge.
    expect((await attempt('nobody', 'guess', ATTACKER, 1)).status).toBe(401);
    expect((await attempt('alice', 'guess', ATTACKER, 3)).status).toBe(401);
    expect((await attempt('alice', 'guess', ATTACKER, 5)).status).toBe('nothing');
    expect(bans.isBanned(ATTACKER.address, Date.now())).toBe(true);
    const before = h.sent.length;
    await h.receive(register('alice', ATTACKER, 7), ATTACKER);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.sent.slice(before)).toEqual([]);
    // Another source is served, and the right password works there.
    expect((await attempt('alice', 'right', PHONE, 1)).status).toBe(200);
  });
});
