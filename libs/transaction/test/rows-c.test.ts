/** Transactions and their timers (RFC 3261 §17, RFC 6026) at the transaction-layer level, on a simulated clock. */
import { parseMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMERS,
  cancelledInviteKey,
  checkTimerSettings,
  createServerTransaction,
  initialDelay,
  serverKey,
} from '../src/index.js';
import { Driver } from './driver.js';
import { ackFor, request, response } from './fixtures.js';

const invite = request('INVITE');
const seconds = (ms: number[]) => ms.map((t) => t / 1000);

describe('server-transaction matching: branch + sent-by + method (§17.2.3)', () => {
  it('matches a retransmission, the ACK and not a different sent-by; CANCEL has its own key', () => {
    const again = request('INVITE');
    expect(serverKey(again)).toBe(serverKey(invite));
    const ack = ackFor(invite, response(invite, 486));
    expect(serverKey(ack)).toBe(serverKey(invite));
    const otherHost = parseMessage(
      Buffer.from(
        invite.toString().replace('pc33.atlanta.example.com:5060', 'pc34.atlanta.example.com:5060'),
        'latin1',
      ),
    );
    expect(serverKey(otherHost)).not.toBe(serverKey(invite));
    const cancel = request('CANCEL');
    expect(serverKey(cancel)).not.toBe(serverKey(invite));
    expect(cancelledInviteKey(cancel)).toBe(serverKey(invite));
  });

  it('answers every INVITE retransmission with the last provisional, passing none to the TU', () => {
    const d = Driver.server(invite, { reliable: false });
    d.apply({ type: 'send-response', message: response(invite, 180) });
    for (let i = 0; i < 3; i++) {
      const step = d.apply({ type: 'request', message: invite });
      expect(d.types(step)).toEqual(['send-response']);
      const sent = step.actions[0];
      expect(sent?.type === 'send' && parseMessage(sent.wire).status).toBe(180);
    }
    expect(d.log.filter((e) => e.action.type === 'to-tu')).toHaveLength(1);
  });

  it('after a 2xx (Accepted, RFC 6026 §8.5) keeps no response and absorbs INVITE retransmissions', () => {
    const d = Driver.server(invite, { reliable: false });
    d.apply({ type: 'send-response', message: response(invite, 180) });
    d.apply({ type: 'send-response', message: response(invite, 200) });
    expect(d.state.state).toBe('accepted');
    expect(d.state.response).toBeNull();
    expect(d.types(d.apply({ type: 'request', message: invite }))).toEqual([]);
  });
});

describe('RFC 2543 request matching (no magic cookie, §17.2.3)', () => {
  it('matches retransmissions and the ACK of a 2543 INVITE by its other fields', () => {
    const old = request('INVITE', 'abc');
    expect(serverKey(request('INVITE', 'abc'))).toBe(serverKey(old));
    expect(serverKey(ackFor(old, response(old, 486)))).toBe(serverKey(old));
    expect(serverKey(request('INVITE', 'abd'))).not.toBe(serverKey(old));
    expect(serverKey(old).startsWith('s2543|')).toBe(true);
    // A branch that is only the magic cookie carries no identifier (RFC 4475 §3.2.1).
    expect(serverKey(request('INVITE', 'z9hG4bK')).startsWith('s2543|')).toBe(true);
  });
});

describe('100 Trying for INVITE at once, none for non-INVITE (§17.2.1, §16.2)', () => {
  it('sends 100 without a To-tag when the INVITE server transaction starts', () => {
    const step = createServerTransaction(invite, { reliable: false }, 0);
    const sent = step.actions.find((a) => a.type === 'send');
    if (sent?.type !== 'send') throw new Error('expected a send');
    const trying = parseMessage(sent.wire);
    expect(trying.status).toBe(100);
    expect(trying.to.tag).toBeUndefined();
    expect(trying.topVia?.branch).toBe('z9hG4bKtx1');
  });

  it('sends nothing for a non-INVITE request until the TU answers', () => {
    const step = createServerTransaction(request('MESSAGE'), { reliable: false }, 0);
    expect(step.actions.map((a) => a.type)).toEqual(['to-tu']);
  });
});

describe('Timer A/B (§17.1.1.2): INVITE retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; timeout at 32 s', () => {
  it('follows the doubling schedule and reports the timeout', () => {
    const d = Driver.client(invite, { reliable: false });
    d.runUntil(40_000);
    expect(seconds(d.sendTimes('request'))).toEqual([0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
    const timeout = d.log.find((e) => e.action.type === 'timeout');
    expect(timeout).toEqual({ at: 32_000, action: { type: 'timeout', timer: 'B' } });
    expect(d.state.state).toBe('terminated');
  });
});

describe('Timer E/F (§17.1.2.2): intervals capped at T2; T2 after a provisional; timeout at 32 s', () => {
  it('retransmits at 0.5, 1.5, 3.5, 7.5, then every 4 s, and times out at 32 s', () => {
    const d = Driver.client(request('MESSAGE'), { reliable: false });
    d.runUntil(40_000);
    expect(seconds(d.sendTimes('request'))).toEqual([0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]);
    expect(d.log.find((e) => e.action.type === 'timeout')?.at).toBe(32_000);
  });

  it('switches to T2 intervals once a provisional arrives', () => {
    const message = request('MESSAGE');
    const d = Driver.client(message, { reliable: false });
    d.runUntil(600);
    d.apply({ type: 'response', message: response(message, 100) });
    d.runUntil(14_000);
    const times = seconds(d.sendTimes('request'));
    // Retransmission at 0.5 s, then the pending E (1.5 s), then every T2.
    expect(times).toEqual([0, 0.5, 1.5, 5.5, 9.5, 13.5]);
  });
});

describe('Timer D and the ACK for a non-2xx final response (§17.1.1.3)', () => {
  it('ACKs with the INVITE branch, the response To-tag, one Via and the Route rows', () => {
    const d = Driver.client(invite, { reliable: false });
    const step = d.apply({ type: 'response', message: response(invite, 486) });
    const sent = step.actions.find((a) => a.type === 'send');
    if (sent?.type !== 'send') throw new Error('expected the ACK');
    const ack = parseMessage(sent.wire);
    expect(ack.method).toBe('ACK');
    expect(ack.requestUriText).toBe(invite.requestUriText);
    expect(ack.vias).toHaveLength(1);
    expect(ack.topVia?.branch).toBe('z9hG4bKtx1');
    expect(ack.to.tag).toBe('uas1');
    expect(ack.cseq).toEqual({ seq: 314159, method: 'ACK' });
    expect(ack.values('Route')).toEqual(['<sip:p1.example.com;lr>']);
    expect(ack.body.length).toBe(0);
  });

  it('re-ACKs a retransmitted 486 without passing it to the TU, and ends after Timer D (32 s)', () => {
    const d = Driver.client(invite, { reliable: false });
    d.apply({ type: 'response', message: response(invite, 486) });
    d.now = 1000;
    d.apply({ type: 'response', message: response(invite, 486) });
    expect(d.sendTimes('ack')).toEqual([0, 1000]);
    expect(d.log.filter((e) => e.action.type === 'to-tu')).toHaveLength(1);
    d.runUntil(40_000);
    expect(d.log.find((e) => e.action.type === 'terminated')?.at).toBe(32_000);
  });
});

describe('Timer G/H (§17.2.1): final response retransmitted, capped at T2, until 64·T1', () => {
  it('re-sends the 486 at 0.5, 1.5, 3.5, 7.5, 11.5 … s and gives up at 32 s without an ACK', () => {
    const d = Driver.server(invite, { reliable: false });
    d.apply({ type: 'send-response', message: response(invite, 486) });
    d.runUntil(40_000);
    const finals = d.log
      .filter((e) => e.action.type === 'send' && parseMessage(e.action.wire).status === 486)
      .map((e) => e.at / 1000);
    expect(finals).toEqual([0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]);
    expect(d.log.find((e) => e.action.type === 'timeout')).toEqual({
      at: 32_000,
      action: { type: 'timeout', timer: 'H' },
    });
  });

  it('stops retransmitting when the ACK arrives', () => {
    const d = Driver.server(invite, { reliable: false });
    d.apply({ type: 'send-response', message: response(invite, 486) });
    d.runUntil(2000);
    d.apply({ type: 'request', message: ackFor(invite, response(invite, 486)) });
    d.runUntil(40_000);
    expect(d.sendTimes('response').filter((t) => t > 2000)).toEqual([]);
    expect(d.state.state).toBe('terminated');
  });
});

describe('Timer I (§17.2.1): ACK retransmissions absorbed; the ACK for a non-2xx is not passed on', () => {
  it('passes no ACK to the TU and ends T4 after the first ACK', () => {
    const d = Driver.server(invite, { reliable: false });
    d.apply({ type: 'send-response', message: response(invite, 486) });
    const ack = ackFor(invite, response(invite, 486));
    d.now = 100;
    d.apply({ type: 'request', message: ack });
    d.now = 200;
    const again = d.apply({ type: 'request', message: ack });
    expect(again.actions).toEqual([]);
    expect(d.log.filter((e) => e.action.type === 'to-tu')).toHaveLength(1);
    d.runUntil(10_000);
    expect(d.log.find((e) => e.action.type === 'terminated')?.at).toBe(100 + DEFAULT_TIMERS.t4);
  });
});

describe('Timer J/K (§17.2.2, §17.1.2.2): request and response retransmissions absorbed', () => {
  it('server re-sends the same 200 for a MESSAGE retransmitted 5 s later and passes nothing to the TU', () => {
    const message = request('MESSAGE');
    const d = Driver.server(message, { reliable: false });
    d.apply({ type: 'send-response', message: response(message, 200) });
    d.runUntil(5000);
    const step = d.apply({ type: 'request', message });
    const sent = step.actions[0];
    expect(sent?.type === 'send' && sent.wire.equals(response(message, 200).toBuffer())).toBe(true);
    expect(d.log.filter((e) => e.action.type === 'to-tu')).toHaveLength(1);
    d.runUntil(40_000);
    expect(d.log.find((e) => e.action.type === 'terminated')?.at).toBe(64 * DEFAULT_TIMERS.t1);
  });

  it('client absorbs response retransmissions during Timer K', () => {
    const message = request('MESSAGE');
    const d = Driver.client(message, { reliable: false });
    d.apply({ type: 'response', message: response(message, 200) });
    d.now = 1000;
    expect(d.apply({ type: 'response', message: response(message, 200) }).actions).toEqual([]);
    d.runUntil(10_000);
    expect(d.log.find((e) => e.action.type === 'terminated')?.at).toBe(DEFAULT_TIMERS.t4);
  });
});

describe('reliable transports: no A/E/G, zero D/I/J/K (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2)', () => {
  it('has the timer table of §17 for reliable transports', () => {
    for (const timer of ['A', 'E', 'G'] as const) expect(initialDelay(timer, true, DEFAULT_TIMERS)).toBeNull();
    for (const timer of ['D', 'I', 'J', 'K'] as const) expect(initialDelay(timer, true, DEFAULT_TIMERS)).toBe(0);
    for (const timer of ['B', 'F', 'H', 'L', 'M'] as const)
      expect(initialDelay(timer, true, DEFAULT_TIMERS)).toBe(32_000);
  });

  it('never retransmits an INVITE over TCP and times out at 32 s', () => {
    const tcp = request('INVITE', 'z9hG4bKtcp', 'TCP');
    const d = Driver.client(tcp, { reliable: true });
    d.runUntil(40_000);
    expect(d.sendTimes('request')).toEqual([0]);
    expect(d.log.find((e) => e.action.type === 'timeout')?.at).toBe(32_000);
  });

  it('never retransmits a final response over TCP and confirms on ACK at once', () => {
    const tcp = request('INVITE', 'z9hG4bKtcp', 'TCP');
    const d = Driver.server(tcp, { reliable: true });
    d.apply({ type: 'send-response', message: response(tcp, 486) });
    d.runUntil(10_000);
    expect(d.sendTimes('response')).toEqual([0, 0]);
    const step = d.apply({ type: 'request', message: ackFor(tcp, response(tcp, 486)) });
    expect(step.transitions).toEqual(['ist:completed:ack', 'ist:confirmed:timer-I']);
  });
});

describe('Timer C: more than 3 minutes, reset by 101–199, then CANCEL or 408 (§16.6 step 11, §16.8)', () => {
  it('rejects a Timer C of 3 minutes or less', () => {
    expect(() => checkTimerSettings({ ...DEFAULT_TIMERS, timerC: 180_000 })).toThrow(/timerC/);
    expect(checkTimerSettings(DEFAULT_TIMERS).timerC).toBeGreaterThan(180_000);
  });

  it('asks the proxy to CANCEL the branch when C fires after a 180', () => {
    const d = Driver.client(invite, { reliable: false, timerC: true });
    d.now = 1000;
    d.apply({ type: 'response', message: response(invite, 180) });
    d.runUntil(200_000);
    expect(d.log.find((e) => e.action.type === 'cancel-branch')?.at).toBe(1000 + DEFAULT_TIMERS.timerC);
  });

  it('treats C firing without a provisional as a 408 (the INVITE was answered by nothing)', () => {
    const d = Driver.client(invite, { reliable: false, timerC: true, settings: { ...DEFAULT_TIMERS, t1: 5000 } });
    d.runUntil(DEFAULT_TIMERS.timerC);
    expect(d.log.find((e) => e.action.type === 'timeout')?.action).toEqual({ type: 'timeout', timer: 'C' });
  });

  it('keeps a call ringing past 3 minutes while 180s keep arriving every 60 s; a 100 does not reset it', () => {
    const d = Driver.client(invite, { reliable: false, timerC: true });
    for (let t = 1000; t <= 301_000; t += 60_000) {
      d.runUntil(t);
      d.apply({ type: 'response', message: response(invite, 180) });
    }
    d.runUntil(360_000);
    expect(d.log.some((e) => e.action.type === 'cancel-branch')).toBe(false);
    const before = d.state.timers.C?.gen;
    d.apply({ type: 'response', message: response(invite, 100) });
    expect(d.state.timers.C?.gen).toBe(before);
  });
});

describe('UAS 2xx retransmissions pass through the INVITE client transaction (RFC 6026)', () => {
  it('hands every copy of the 200 to the TU while Accepted', () => {
    const d = Driver.client(invite, { reliable: false });
    for (let i = 0; i < 4; i++) d.apply({ type: 'response', message: response(invite, 200) });
    expect(d.log.filter((e) => e.action.type === 'to-tu')).toHaveLength(4);
    expect(d.state.state).toBe('accepted');
  });
});
