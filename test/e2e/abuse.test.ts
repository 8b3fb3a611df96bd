/**
 * Fleet-wide abuse protection over real sockets (issue 14), with sipedge as users run it:
 *
 * - two `sipedge edge` processes, each on its own UDP port, sharing Redis and NATS with a worker:
 *   wrong-password REGISTERs from one source beyond the threshold ban it on both edges (each
 *   edge's admin API lists the ban and neither answers the source any more); the ban expires;
 *   a trusted source is never banned; a flood split over both edges is banned (pike), though
 *   neither edge alone saw the threshold;
 * - `sipedge all`: the admin API needs its token, and `sipedge admin bans` lists, adds and lifts
 *   bans of the running process.
 */
import { answerChallenge } from '@sipedge/auth';
import type { SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';
import { freePort } from '../support/free-port.js';
import { type ManagedProcess, roleCommand, sipedgeAdmin, startProcess } from '../support/processes.js';
import { SipPeer } from '../support/sip-peer.js';

const TOKEN = 'abuse-test-admin-token-0123456789abcdef';
const USERS = 'alice:right-password';
const ATTACKER = '127.0.0.5';
const FLOODER = '127.0.0.7';
const PHONE = '127.0.0.6';

/** Settings every process of these tests gets: digest on, only 127.0.0.1 trusted, short bans. */
const COMMON: NodeJS.ProcessEnv = {
  SIPEDGE_AUTH_REALM: 'sipedge.test',
  SIPEDGE_AUTH_SECRET: 'abuse-test-digest-secret-0123456789abcdef',
  SIPEDGE_AUTH_USERS: USERS,
  SIPEDGE_AUTH_ALGORITHMS: 'MD5',
  SIPEDGE_FLEET_SECRET: 'abuse-test-fleet-secret-0123456789abcdef',
  SIPEDGE_TRUSTED: '127.0.0.1/32',
  SIPEDGE_RATE_LIMIT_TRUSTED: '127.0.0.1/32',
  SIPEDGE_AUTH_FAILURES_PER_SOURCE: '5',
  SIPEDGE_BAN_SECONDS: '4',
  SIPEDGE_PIKE_REQUESTS: '300',
  SIPEDGE_PIKE_WINDOW_MS: '20000',
  SIPEDGE_ADMIN_TOKEN: TOKEN,
};

interface Edge {
  sip: number;
  http: number;
  process: ManagedProcess;
}

let cseq = 0;

/** One REGISTER exchange from `peer` to the edge at `port`: the answer's status, or undefined (none). */
async function register(peer: SipPeer, port: number, user: string, password: string): Promise<number | undefined> {
  const callId = `reg-${peer.address}-${port}-${++cseq}`;
  const lines = (seq: number, extra: string[] = []) => [
    `REGISTER sip:127.0.0.1:${port} SIP/2.0`,
    `Via: ${peer.via()}`,
    'Max-Forwards: 70',
    `From: <sip:${user}@127.0.0.1>;tag=r`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: ${seq} REGISTER`,
    `Contact: ${peer.contact(user)}`,
    ...extra,
  ];
  const answer = (seq: number) => (m: SipMessage) => m.isResponse && m.callId === callId && m.cseq.seq === seq;
  peer.send(lines(1));
  const challenge = await peer.next(answer(1), 2000).catch(() => undefined);
  if (challenge === undefined) return undefined;
  if (challenge.status !== 401) return challenge.status;
  const credentials = answerChallenge(challenge.wwwAuthenticates[0]!, {
    username: user,
    password,
    uri: `sip:127.0.0.1:${port}`,
    method: 'REGISTER',
    cnonce: `c${cseq}`,
  });
  peer.send(lines(2, [`Authorization: ${credentials}`]));
  return (await peer.next(answer(2), 2000).catch(() => undefined))?.status;
}

async function bansAt(http: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${http}/admin/bans`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status).toBe(200);
  const { bans } = (await response.json()) as { bans: { address: string }[] };
  return bans.map((b) => b.address);
}

/** OPTIONS to the proxy itself: answered 200 unless the source is banned. */
async function options(peer: SipPeer, port: number): Promise<number | undefined> {
  const callId = `opt-${peer.address}-${port}-${++cseq}`;
  peer.send([
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: ${peer.via()}`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=o',
    'To: <sip:127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
  ]);
  return (await peer.next((m) => m.isResponse && m.callId === callId, 1500).catch(() => undefined))?.status;
}

describe('two edges sharing Redis and NATS', () => {
  let redis: StartedRedis;
  let nats: StartedNats;
  const edges: Edge[] = [];
  let worker: ManagedProcess;

  beforeAll(async () => {
    [redis, nats] = await Promise.all([startRedis(), startNats()]);
    const shared = { ...COMMON, REDIS_URL: redis.url, NATS_URL: nats.url };
    const ports = [await freePort(), await freePort()];
    const addressing = {
      SIPEDGE_ADVERTISED: `127.0.0.1:${ports[0]}`,
      SIPEDGE_DOMAINS: '127.0.0.1',
      SIPEDGE_SELF_PORTS: ports.join(','),
    };
    worker = await startProcess('worker', roleCommand('worker'), { ...shared, ...addressing }, 'worker started');
    for (const [i, port] of ports.entries()) {
      const http = await freePort();
      const env = {
        ...shared,
        ...addressing,
        SIPEDGE_EDGE_ID: `edge-${i + 1}`,
        SIPEDGE_UDP: `127.0.0.1:${port}`,
        SIPEDGE_TCP: `127.0.0.1:${port}`,
        SIPEDGE_HTTP: `127.0.0.1:${http}`,
      };
      edges.push({
        sip: port!,
        http,
        process: await startProcess(`edge-${i + 1}`, roleCommand('edge'), env, 'edge started'),
      });
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(edges.map((e) => e.process.stop()));
    await worker?.stop();
    await Promise.all([redis?.container.stop(), nats?.container.stop()]);
  });

  it('bans a source that fails authentication too often on every edge, until the ban expires', async () => {
    const [one, two] = edges as [Edge, Edge];
    const attacker = await SipPeer.open('udp', { address: '127.0.0.1', port: one.sip }, ATTACKER);
    const phone = await SipPeer.open('udp', { address: '127.0.0.1', port: two.sip }, PHONE);
    try {
      // Wrong passwords through edge 1: challenged again each time until the fifth failure.
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await register(attacker, one.sip, 'alice', `guess-${i}`));
      expect(answers).toEqual([401, 401, 401, 401, undefined]);
      // Banned on both edges: listed by each edge's admin API, and edge 2 answers nothing either.
      expect(await bansAt(one.http)).toEqual([ATTACKER]);
      expect(await bansAt(two.http)).toEqual([ATTACKER]);
      expect(await options(attacker, two.sip)).toBeUndefined();
      expect(await register(attacker, two.sip, 'alice', 'right-password')).toBeUndefined();
      // Another source is served meanwhile.
      expect(await register(phone, two.sip, 'alice', 'right-password')).toBe(200);
      // The ban expires (SIPEDGE_BAN_SECONDS=4): the right password works again.
      await new Promise((r) => setTimeout(r, 4500));
      expect(await bansAt(two.http)).toEqual([]);
      expect(await register(attacker, two.sip, 'alice', 'right-password')).toBe(200);
    } finally {
      attacker.close();
      phone.close();
    }
  }, 60_000);

  it('never bans a trusted source, however often it fails', async () => {
    const [one] = edges as [Edge];
    const trusted = await SipPeer.open('udp', { address: '127.0.0.1', port: one.sip }, '127.0.0.1');
    try {
      for (let i = 0; i < 8; i++) expect(await register(trusted, one.sip, 'alice', `wrong-${i}`)).toBe(401);
      expect(await bansAt(one.http)).toEqual([]);
      expect(await register(trusted, one.sip, 'alice', 'right-password')).toBe(200);
    } finally {
      trusted.close();
    }
  }, 60_000);

  it('bans a flood spread over both edges (pike), though neither alone saw the threshold', async () => {
    const [one, two] = edges as [Edge, Edge];
    const flooder = await SipPeer.open('udp', { address: '127.0.0.1', port: one.sip }, FLOODER);
    const other = await SipPeer.open('udp', { address: '127.0.0.1', port: two.sip }, FLOODER);
    try {
      // 200 requests to each edge (threshold 300 per 20 s, fleet-wide), one per ms at most.
      for (let i = 0; i < 200; i++) {
        for (const [peer, edge] of [
          [flooder, one],
          [other, two],
        ] as const) {
          peer.send([
            `OPTIONS sip:127.0.0.1:${edge.sip} SIP/2.0`,
            `Via: ${peer.via()}`,
            'Max-Forwards: 70',
            'From: <sip:flood@127.0.0.1>;tag=f',
            'To: <sip:127.0.0.1>',
            `Call-ID: flood-${i}`,
            'CSeq: 1 OPTIONS',
          ]);
        }
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      const deadline = Date.now() + 5000;
      while (!(await bansAt(one.http)).includes(FLOODER) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await bansAt(one.http)).toContain(FLOODER);
      expect(await bansAt(two.http)).toContain(FLOODER);
      expect(await options(other, two.sip)).toBeUndefined();
    } finally {
      flooder.close();
      other.close();
    }
  }, 60_000);
});

describe('the admin API and CLI of sipedge all', () => {
  let all: ManagedProcess;
  let sip: number;
  let http: number;

  beforeAll(async () => {
    sip = await freePort();
    http = await freePort();
    all = await startProcess(
      'sipedge all',
      roleCommand('all'),
      {
        ...COMMON,
        SIPEDGE_BAN_SECONDS: '600',
        SIPEDGE_UDP: `127.0.0.1:${sip}`,
        SIPEDGE_TCP: `127.0.0.1:${sip}`,
        SIPEDGE_ADVERTISED: `127.0.0.1:${sip}`,
        SIPEDGE_HTTP: `127.0.0.1:${http}`,
      },
      'sipedge standalone: ready',
    );
  }, 60_000);
  afterAll(() => all?.stop());

  it('refuses requests without the token, on the ops port only', async () => {
    const url = `http://127.0.0.1:${http}/admin/bans`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${url}?address=192.0.2.1`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('sipedge admin bans: add, list, lift; a banned source gets nothing, a trusted one is never banned', async () => {
    const env = { SIPEDGE_ADMIN_TOKEN: TOKEN, SIPEDGE_ADMIN_URL: `http://127.0.0.1:${http}` };
    const peer = await SipPeer.open('udp', { address: '127.0.0.1', port: sip }, '127.0.0.9');
    try {
      expect(await options(peer, sip)).toBe(200);
      const added = await sipedgeAdmin(['bans', 'add', '127.0.0.9', '--seconds', '60', '--reason', 'test'], env);
      expect(added.code).toBe(0);
      const listed = await sipedgeAdmin(['bans'], env);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(/^127\.0\.0\.9 +\S+ +test$/m);
      expect(await options(peer, sip)).toBeUndefined();
      expect((await sipedgeAdmin(['bans', 'lift', '127.0.0.9'], env)).code).toBe(0);
      expect(await options(peer, sip)).toBe(200);
      expect((await sipedgeAdmin(['bans'], env)).out).toBe('no bans\n');
      const trusted = await sipedgeAdmin(['bans', 'add', '127.0.0.1'], env);
      expect([trusted.code, trusted.out]).toEqual([1, expect.stringContaining('409')]);
      const noToken = await sipedgeAdmin(['bans'], { ...env, SIPEDGE_ADMIN_TOKEN: '' });
      expect(noToken.code).toBe(2);
    } finally {
      peer.close();
    }
  }, 60_000);
});
