/**
 * Proxy scenarios over real UDP sockets through an edge and two workers (NATS, Redis, BullMQ):
 * CANCEL before and after a provisional, busy forks and best response, sequential forking, loop
 * detection, Timer C, registrar rows and digest challenge and retry.
 */
import { StaticUserDirectory, answerChallenge } from '@sipedge/auth';
import { type SipMessage, parseMessage } from '@sipedge/sip';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { Ua } from '../support/ua.js';

const isRequest = (method: string) => (m: SipMessage) => m.isRequest && m.method === method;
const isStatus = (status: number) => (m: SipMessage) => m.isResponse && m.status === status;

describe('proxy scenarios over real sockets', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ timers: { ...DEFAULT_TIMERS, timerC: 1500 } });
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('§16.10: CANCEL before the 180 is held, then sent; the 487 reaches the caller', async () => {
    const [uas, uac] = [await Ua.open(cluster, 'carol'), await Ua.open(cluster, 'alice')];
    await uas.register();
    await uac.request('INVITE', 'sip:carol@example.com', 'cancel-early', 1, [], 'z9hG4bKce');
    const invite = await uas.next(isRequest('INVITE'));
    await uac.request('CANCEL', 'sip:carol@example.com', 'cancel-early', 1, [], 'z9hG4bKce');
    expect((await uac.next((m) => m.isResponse && m.cseq.method === 'CANCEL')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(uas.socket.received.some((d) => d.data.toString().startsWith('CANCEL'))).toBe(false);
    await uas.answer(invite, 180);
    const cancel = await uas.next(isRequest('CANCEL'));
    expect(cancel.topVia?.branch).toBe(invite.topVia?.branch);
    await uas.answer(cancel, 200);
    await uas.answer(invite, 487);
    expect((await uac.next(isStatus(487))).cseq.method).toBe('INVITE');
    uas.close();
    uac.close();
  }, 20_000);

  it('§16.10: CANCEL after the 180: 200 at once, CANCEL downstream, 487 to the caller, the 487 ACKed hop by hop', async () => {
    const [uas, uac] = [await Ua.open(cluster, 'dave'), await Ua.open(cluster, 'alice')];
    await uas.register();
    await uac.request('INVITE', 'sip:dave@example.com', 'cancel-late', 1, [], 'z9hG4bKcl');
    const invite = await uas.next(isRequest('INVITE'));
    await uas.answer(invite, 180);
    expect((await uac.next(isStatus(180))).get('Call-ID')).toBe('cancel-late');
    await uac.request('CANCEL', 'sip:dave@example.com', 'cancel-late', 1, [], 'z9hG4bKcl');
    expect((await uac.next((m) => m.isResponse && m.cseq.method === 'CANCEL')).status).toBe(200);
    const cancel = await uas.next(isRequest('CANCEL'));
    expect(cancel.topVia?.branch).toBe(invite.topVia?.branch);
    await uas.answer(cancel, 200);
    await uas.answer(invite, 487);
    expect((await uac.next(isStatus(487))).cseq.method).toBe('INVITE');
    expect((await uas.next(isRequest('ACK'))).topVia?.branch).toBe(invite.topVia?.branch);
    uas.close();
    uac.close();
  }, 20_000);

  it('two forks answer 486 and 404: the caller gets one of them (a 4xx, §16.7 step 6), once; both are ACKed hop by hop', async () => {
    const [a, b, uac] = [
      await Ua.open(cluster, 'dave'),
      await Ua.open(cluster, 'dave'),
      await Ua.open(cluster, 'alice'),
    ];
    await a.register();
    await b.register();
    await uac.request('INVITE', 'sip:dave@example.com', 'busy-forks');
    const [ia, ib] = [await a.next(isRequest('INVITE')), await b.next(isRequest('INVITE'))];
    await a.answer(ia, 486);
    await b.answer(ib, 404);
    // §16.7 step 6 prefers no 4xx over another here (only 401, 407, 415, 420 and 484): either may win.
    expect([486, 404]).toContain((await uac.next((m) => m.isResponse && m.status >= 400)).status);
    await a.next(isRequest('ACK'));
    await b.next(isRequest('ACK'));
    await new Promise((r) => setTimeout(r, 200));
    const finals = uac.socket.received.map((r) => parseMessage(r.data)).filter((m) => m.isResponse && m.status >= 400);
    expect(finals).toHaveLength(1);
    for (const ua of [a, b, uac]) ua.close();
  }, 20_000);

  it('§16.6: sequential forking: q=0.5 rings only after q=1.0 failed', async () => {
    const [a, b, uac] = [
      await Ua.open(cluster, 'erin'),
      await Ua.open(cluster, 'erin'),
      await Ua.open(cluster, 'alice'),
    ];
    await a.register([`Contact: ${a.contact};q=1.0`]);
    await b.register([`Contact: ${b.contact};q=0.5`]);
    await uac.request('INVITE', 'sip:erin@example.com', 'seq-forks');
    const ia = await a.next(isRequest('INVITE'));
    await new Promise((r) => setTimeout(r, 200));
    expect(b.socket.received).toHaveLength(1); // only its REGISTER response
    await a.answer(ia, 480);
    const ib = await b.next(isRequest('INVITE'));
    await b.answer(ib, 200);
    expect((await uac.next(isStatus(200))).to.tag).toBe('erin');
    for (const ua of [a, b, uac]) ua.close();
  }, 20_000);

  it('§16.3 step 4: a request routed back to the proxy itself is a loop: 482', async () => {
    const uac = await Ua.open(cluster, 'alice');
    await uac.request('OPTIONS', `sip:loop@127.0.0.1:${cluster.edgePort}`, 'loop-1');
    expect((await uac.next((m) => m.isResponse && m.status >= 400)).status).toBe(482);
    uac.close();
  }, 20_000);

  it('§16.8: Timer C after a 180 CANCELs the ringing fork; the caller gets the 487', async () => {
    const [uas, uac] = [await Ua.open(cluster, 'frank'), await Ua.open(cluster, 'alice')];
    await uas.register();
    await uac.request('INVITE', 'sip:frank@example.com', 'timer-c');
    const invite = await uas.next(isRequest('INVITE'));
    await uas.answer(invite, 180);
    const cancel = await uas.next(isRequest('CANCEL'), 10_000);
    await uas.answer(cancel, 200);
    await uas.answer(invite, 487);
    await uac.next(isStatus(487));
    uas.close();
    uac.close();
  }, 20_000);

  it('§10.3: two Contacts listed with expires; 423 below Min-Expires; Contact * with Expires 0 removes all', async () => {
    const ua = await Ua.open(cluster, 'gina');
    const two = await ua.register([`Contact: ${ua.contact}, <sip:gina@127.0.0.1:1>`, 'Expires: 120'], 'e1-reg', 1);
    expect(two.status).toBe(200);
    expect(two.values('Contact').map((c) => /expires=(\d+)/.exec(c)?.[1])).toEqual(['120', '120']);
    expect(two.has('Record-Route')).toBe(false);
    const brief = await ua.register(['Expires: 30'], 'e1-reg', 2);
    expect([brief.status, brief.get('Min-Expires')]).toEqual([423, '60']);
    const removed = await ua.register(['Contact: *', 'Expires: 0'], 'e1-reg', 3);
    expect([removed.status, removed.has('Contact')]).toEqual([200, false]);
    ua.close();
  }, 20_000);
});

describe('digest over real sockets', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({
      tu: (stores) => ({
        auth: {
          realm: 'example.com',
          users: new StaticUserDirectory([{ username: 'hank', password: 'secret' }]),
          nonceStore: stores.nonces,
          hmac: { secret: 'an-integration-secret-of-32-bytes!!!' },
          algorithms: ['SHA-256', 'MD5'],
          nonceTtlMs: 60_000,
          register: true,
          proxy: false,
        },
      }),
    });
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('§10.3, §22: REGISTER is challenged (401), retried with credentials (200); a wrong password is challenged again', async () => {
    const ua = await Ua.open(cluster, 'hank');
    const challenge = await ua.register([], 'dg-1', 1);
    expect(challenge.status).toBe(401);
    const credentials = (password: string, nc: number) =>
      answerChallenge(challenge.wwwAuthenticates[0]!, {
        username: 'hank',
        password,
        uri: 'sip:example.com',
        method: 'REGISTER',
        nc,
        cnonce: 'x',
      });
    expect((await ua.register([`Authorization: ${credentials('secret', 1)}`], 'dg-1', 2)).status).toBe(200);
    expect((await ua.register([`Authorization: ${credentials('wrong', 2)}`], 'dg-1', 3)).status).toBe(401);
    ua.close();
  }, 20_000);
});
