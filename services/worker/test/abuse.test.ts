/**
 * Failed authentications ban the source (fail2ban, issue 14): after N wrong passwords a source's
 * requests are ignored by the worker (no challenge, no record), even with the right password,
 * while another source is still served; an unknown user and a wrong password get the same answer.
 */
import { AuthFailures, Bans } from '@sipedge/abuse';
import { StaticUserDirectory, answerChallenge } from '@sipedge/auth';
import { CidrSet } from '@sipedge/net';
import { MemoryBusHub } from '@sipedge/bus';
import { MemoryAbuseStore, MemoryNonceStore } from '@sipedge/store';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, logger, sip } from './harness.js';

const ATTACKER = { address: '192.0.2.66', port: 5060 };
const PHONE = { address: '192.0.2.20', port: 5070 };

const register = (user: string, source: { address: string; port: number }, cseq: number, extra: string[] = []) =>
  sip([
    'REGISTER sip:example.com SIP/2.0',
    `Via: SIP/2.0/UDP ${source.address}:${source.port};branch=z9hG4bKr-${user}-${source.address}-${cseq}`,
    'Max-Forwards: 70',
    `To: <sip:${user}@example.com>`,
    `From: <sip:${user}@example.com>;tag=r`,
    `Call-ID: reg-${user}-${source.address}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@${source.address}:${source.port}>`,
    ...extra,
  ]);

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
      auth: {
        realm: 'example.com',
        users: new StaticUserDirectory([{ username: 'alice', password: 'right' }]),
        nonceStore: new MemoryNonceStore(),
        hmac: { secret: 'a-test-secret-of-at-least-32-bytes!!' },
        algorithms: ['MD5'],
        nonceTtlMs: 60_000,
        register: true,
        proxy: false,
        bans,
        failures: new AuthFailures(state, bans, { perSource: 3, perUser: 0, windowMs: 60_000 }, logger),
      },
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
    const credentials = answerChallenge(challenge.wwwAuthenticates[0]!, {
      username: user,
      password,
      uri: 'sip:example.com',
      method: 'REGISTER',
      cnonce: 'c',
    });
    await h.receive(register(user, source, cseq + 1, [`Authorization: ${credentials}`]), source);
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
