/**
 * One durable deadline per call record (issue 16): a call that completes fires none and leaves
 * none behind, even when its 180 and 200 are handled at once by two workers; a Timer C longer than
 * the old fixed record TTL still fires.
 */
import type { InboundMeta } from '@sipedge/handoff';
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';
import { DEFAULT_TIMERS } from '@sipedge/transaction';
import { afterEach, describe, expect, it } from 'vitest';
import { createCall, fireDueTimers, applyToCall } from '../src/index.js';
import { earliest } from '../src/deadlines.js';
import { CALLEE, CALLER, Harness, SETTINGS, deadlineFires, inviteLines, sip } from './harness.js';

/** Deadline fires so far, over every worker. */
async function fires(h: Harness): Promise<number> {
  return (await deadlineFires(h)).reduce((a, b) => a + b, 0);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('the durable deadline of a call record', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('a call that completes (INVITE, 180, 200, ACK, BYE, 200) fires no deadline and leaves none', async () => {
    h = await Harness.start(2);
    await h.receive(sip(inviteLines('no-fire')), CALLER);
    const invite = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE')).message;
    await h.receive(buildResponse(invite, 180, { toTag: 'c1' }).toString(), CALLEE);
    const ok = buildResponse(invite, 200, { toTag: 'c1', headers: [['Contact', `<sip:carol@${CALLEE.address}>`]] });
    await h.receive(ok.toString(), CALLEE);
    await h.waitFor((s) => s.message.status === 200 && s.meta.destination.address === CALLER.address);
    await h.receive(
      sip([
        `BYE sip:carol@${CALLEE.address}:${CALLEE.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bKno-fire-bye`,
        'Max-Forwards: 70',
        'To: <sip:carol@example.net>;tag=c1',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: no-fire',
        'CSeq: 2 BYE',
      ]),
      CALLER,
    );
    const bye = (await h.waitFor((s) => s.message.isRequest && s.message.method === 'BYE')).message;
    await h.receive(buildResponse(bye, 200).toString(), CALLEE);
    await h.waitFor((s) => s.message.status === 200 && s.message.cseq.method === 'BYE');
    await settle();
    expect(h.timerHub.size).toBe(0);
    expect(await fires(h)).toBe(0);
  });

  it('a 180 and a 200 handled at once by two workers leave no deadline behind', async () => {
    h = await Harness.start(2, {}, {}, 20);
    for (let call = 1; call <= 5; call++) {
      const callId = `race-${call}`;
      await h.receive(sip(inviteLines(callId)), CALLER);
      const invite = (
        await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === callId)
      ).message;
      const ok = buildResponse(invite, 200, { toTag: 'c1', headers: [['Contact', `<sip:carol@${CALLEE.address}>`]] });
      await Promise.all([
        h.receive(buildResponse(invite, 180, { toTag: 'c1' }).toString(), CALLEE),
        h.receive(ok.toString(), CALLEE),
      ]);
      await h.waitFor((s) => s.message.status === 200 && s.message.callId === callId);
    }
    await settle();
    expect(h.timerHub.size).toBe(0);
  });
});

describe('Timer C longer than ten minutes (SIPEDGE_TIMER_C_MS)', () => {
  it('is the record’s deadline after a 180, and CANCELs the fork when it fires', () => {
    const settings = { ...SETTINGS, timers: { ...DEFAULT_TIMERS, timerC: 900_000 } };
    const origin: InboundMeta = {
      transport: 'udp',
      source: CALLER,
      local: { address: '127.0.0.1', port: 5060 },
      edgeId: 'e1',
      receivedAt: 0,
    };
    const request = parseMessage(Buffer.from(sip(inviteLines('long-c')), 'latin1'));
    const decision = {
      kind: 'proxy' as const,
      template: request,
      targets: [
        {
          uri: `sip:carol@${CALLEE.address}:${CALLEE.port}`,
          q: 1,
          group: 0,
          hops: [{ transport: 'udp' as const, ...CALLEE }],
        },
      ],
      recordRoute: null,
    };
    const created = createCall('long-c', request, origin, decision, 0, settings);
    const sent = created.effects.find((e) => e.type === 'send' && e.kind === 'request');
    const fork: SipMessage = parseMessage(sent!.type === 'send' ? sent!.wire : Buffer.alloc(0));
    const ringing = applyToCall(
      created.record,
      { type: 'response', fork: 0, message: parseMessage(buildResponse(fork, 180, { toTag: 'c1' }).toBuffer()) },
      100,
      settings,
    );
    expect(earliest(ringing.record, 'durable')).toBe(100 + 900_000);
    expect(fireDueTimers(ringing.record, 100 + 899_999, settings)).toBeNull();
    const fired = fireDueTimers(ringing.record, 100 + 900_000, settings)!;
    const cancel = fired.effects.find((e) => e.type === 'send' && parseMessage(e.wire).method === 'CANCEL');
    expect(cancel).toBeDefined();
  });
});
