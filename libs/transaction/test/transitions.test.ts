/**
 * Table-driven tests: one case per arrow of RFC 3261 Figures 5–8 (as updated by RFC 6026 and
 * RFC 4320, with the proxy's Timer C), each asserting the state reached and the actions taken.
 * The last test checks that together they exercise every transition in TRANSITIONS.
 */
import { describe, expect, it } from 'vitest';
import type { SipMessage } from '@sipedge/sip';
import { TRANSITIONS, type TimerName, type TransactionStateName } from '../src/index.js';
import { Driver, taken } from './driver.js';
import { ackFor, request, response } from './fixtures.js';

const invite = request('INVITE');
const options = request('OPTIONS');
const ict = (timerC = false) => Driver.client(invite, { reliable: false, timerC });
const nict = () => Driver.client(options, { reliable: false });
const ist = () => Driver.server(invite, { reliable: false });
const nist = (reliable = false) => Driver.server(options, { reliable });

/** The events under test, each applied to a driver. */
const fire = (timer: TimerName) => (d: Driver) => d.fire(timer);
const receive = (request: SipMessage, status: number) => (d: Driver) =>
  d.apply({ type: 'response', message: response(request, status) });
const send = (request: SipMessage, status: number) => (d: Driver) =>
  d.apply({ type: 'send-response', message: response(request, status) });
const receiveRequest = (message: SipMessage) => (d: Driver) => d.apply({ type: 'request', message });
const transportError = (d: Driver) => d.apply({ type: 'transport-error' });
/** No event: the step that created the transaction is the one under test. */
const created = () => undefined;
/** Timer A fires again with the generation it had before it was restarted. */
const staleA = (d: Driver) => {
  const old = d.state.timers.A!.gen;
  d.fire('A');
  d.apply({ type: 'timer', timer: 'A', generation: old });
};

function tap(d: Driver, f: (d: Driver) => unknown): Driver {
  f(d);
  return d;
}

/** The ACK of the 486 an INVITE server sent. */
const ack = ackFor(invite, response(invite, 486));
/** Transactions brought to the source state of some cases. */
const ringing = (d: Driver) => tap(d, receive(invite, 180));
const rejected = () => tap(ict(), receive(invite, 486));
const answered = () => tap(ict(), receive(invite, 200));
const nictProceeding = () => tap(nict(), receive(options, 100));
const nictDone = () => tap(nict(), receive(options, 200));
const busy = () => tap(ist(), send(invite, 486));
const confirmed = () => tap(busy(), receiveRequest(ack));
const accepted = () => tap(ist(), send(invite, 200));
// RFC 4320 §4.1: over UDP a 100 may only go out once the client's Timer E has reached T2.
const nistProceeding = () =>
  tap(nist(), (x) => {
    x.now = 4000;
    x.apply({ type: 'send-response', message: response(options, 100) });
  });
const nistDone = () => tap(nist(), send(options, 200));

interface Case {
  id: string;
  /** Builds the transaction, brings it to the source state and applies the event under test. */
  run: () => Driver;
  to: TransactionStateName;
  actions: string[];
}

type Row = [id: string, event: (d: Driver) => unknown, to: TransactionStateName, actions: string];

/**
 * The cases of `rows`: each applies its event to a transaction `build` brings to the source state,
 * and expects the state `to` and the actions (as `Driver.types` lists them, separated by spaces).
 */
function from(build: () => Driver, rows: Row[]): Case[] {
  return rows.map(([id, event, to, actions]) => ({
    id,
    run: () => tap(build(), event),
    to,
    actions: actions === '' ? [] : actions.split(' '),
  }));
}

const cases: Case[] = [
  // ---- INVITE client (Figure 5, RFC 6026) ----
  ...from(ict, [
    ['ict:start', created, 'calling', 'send-request start-A:500 start-B:32000'],
    ['ict:calling:timer-A', fire('A'), 'calling', 'send-request start-A:1000'],
    ['ict:calling:timer-B', fire('B'), 'terminated', 'timeout-B cancel-A terminated'],
    ['ict:calling:1xx', receive(invite, 180), 'proceeding', 'cancel-A cancel-B to-tu'],
    ['ict:calling:2xx', receive(invite, 200), 'accepted', 'cancel-A cancel-B start-M:32000 to-tu'],
    ['ict:calling:300-699', receive(invite, 486), 'completed', 'cancel-A cancel-B send-ack start-D:32000 to-tu'],
    ['ict:calling:transport-error', transportError, 'terminated', 'transport-error cancel-A cancel-B terminated'],
    ['any:stale-timer', staleA, 'calling', ''],
  ]),
  ...from(
    () => ict(true),
    [['ict:calling:timer-C', fire('C'), 'terminated', 'timeout-C cancel-A cancel-B terminated']],
  ),
  ...from(
    () => ringing(ict(true)),
    [
      ['ict:proceeding:1xx', receive(invite, 183), 'proceeding', 'cancel-C start-C:181000 to-tu'],
      ['ict:proceeding:timer-C', fire('C'), 'proceeding', 'cancel-branch start-C:32000'],
    ],
  ),
  ...from(
    () => tap(ringing(ict(true)), fire('C')),
    [['ict:proceeding:timer-C-again', fire('C'), 'terminated', 'timeout-C terminated']],
  ),
  ...from(
    () => ringing(ict()),
    [
      ['ict:proceeding:2xx', receive(invite, 200), 'accepted', 'start-M:32000 to-tu'],
      ['ict:proceeding:300-699', receive(invite, 603), 'completed', 'send-ack start-D:32000 to-tu'],
    ],
  ),
  ...from(rejected, [
    ['ict:completed:300-699', receive(invite, 486), 'completed', 'send-ack'],
    ['ict:completed:transport-error', transportError, 'terminated', 'transport-error cancel-D terminated'],
    ['ict:completed:timer-D', fire('D'), 'terminated', 'terminated'],
    ['any:ignored', receive(invite, 180), 'completed', ''],
  ]),
  ...from(answered, [
    ['ict:accepted:2xx', receive(invite, 200), 'accepted', 'to-tu'],
    ['ict:accepted:timer-M', fire('M'), 'terminated', 'terminated'],
  ]),
  // ---- non-INVITE client (Figure 6) ----
  ...from(nict, [
    ['nict:start', created, 'trying', 'send-request start-E:500 start-F:32000'],
    ['nict:trying:timer-E', fire('E'), 'trying', 'send-request start-E:1000'],
    ['nict:trying:timer-F', fire('F'), 'terminated', 'timeout-F cancel-E terminated'],
    ['nict:trying:transport-error', transportError, 'terminated', 'transport-error cancel-E cancel-F terminated'],
    ['nict:trying:1xx', receive(options, 100), 'proceeding', 'to-tu'],
    ['nict:trying:200-699', receive(options, 200), 'completed', 'cancel-E cancel-F start-K:5000 to-tu'],
  ]),
  ...from(nictProceeding, [
    ['nict:proceeding:timer-E', fire('E'), 'proceeding', 'send-request start-E:4000'],
    ['nict:proceeding:timer-F', fire('F'), 'terminated', 'timeout-F cancel-E terminated'],
    ['nict:proceeding:transport-error', transportError, 'terminated', 'transport-error cancel-E cancel-F terminated'],
    ['nict:proceeding:1xx', receive(options, 100), 'proceeding', 'to-tu'],
    ['nict:proceeding:200-699', receive(options, 404), 'completed', 'cancel-E cancel-F start-K:5000 to-tu'],
  ]),
  ...from(nictDone, [
    ['nict:completed:response', receive(options, 200), 'completed', ''],
    ['nict:completed:timer-K', fire('K'), 'terminated', 'terminated'],
  ]),
  // ---- INVITE server (Figure 7, RFC 6026) ----
  ...from(ist, [
    ['ist:start', created, 'proceeding', 'to-tu send-response'],
    ['ist:proceeding:request', receiveRequest(invite), 'proceeding', 'send-response'],
    ['ist:proceeding:send-1xx', send(invite, 180), 'proceeding', 'send-response'],
    ['ist:proceeding:send-2xx', send(invite, 200), 'accepted', 'send-response start-L:32000'],
    ['ist:proceeding:send-300-699', send(invite, 486), 'completed', 'send-response start-G:500 start-H:32000'],
    ['ist:proceeding:transport-error', transportError, 'terminated', 'transport-error terminated'],
  ]),
  ...from(busy, [
    ['ist:completed:request', receiveRequest(invite), 'completed', 'send-response'],
    ['ist:completed:timer-G', fire('G'), 'completed', 'send-response start-G:1000'],
    ['ist:completed:timer-H', fire('H'), 'terminated', 'timeout-H cancel-G terminated'],
    ['ist:completed:ack', receiveRequest(ack), 'confirmed', 'cancel-G cancel-H start-I:5000'],
    ['ist:completed:transport-error', transportError, 'terminated', 'transport-error cancel-G cancel-H terminated'],
  ]),
  ...from(confirmed, [
    ['ist:confirmed:ack', receiveRequest(ack), 'confirmed', ''],
    ['ist:confirmed:timer-I', fire('I'), 'terminated', 'terminated'],
  ]),
  ...from(accepted, [
    ['ist:accepted:request', receiveRequest(invite), 'accepted', ''],
    ['ist:accepted:send-2xx', send(invite, 200), 'accepted', 'send-response'],
    ['ist:accepted:ack', receiveRequest(request('ACK', 'z9hG4bKtx1')), 'accepted', 'to-tu'],
    ['ist:accepted:transport-error', transportError, 'accepted', 'transport-error'],
    ['ist:accepted:timer-L', fire('L'), 'terminated', 'terminated'],
  ]),
  // ---- non-INVITE server (Figure 8, RFC 4320) ----
  ...from(nist, [
    ['nist:start', created, 'trying', 'to-tu'],
    ['nist:trying:request', receiveRequest(options), 'trying', ''],
    ['nist:trying:send-1xx-suppressed', send(options, 100), 'trying', ''],
    ['nist:trying:send-200-699', send(options, 200), 'completed', 'send-response start-J:32000'],
  ]),
  ...from(() => nist(true), [['nist:trying:send-1xx', send(options, 100), 'proceeding', 'send-response']]),
  ...from(nistProceeding, [
    ['nist:proceeding:request', receiveRequest(options), 'proceeding', 'send-response'],
    ['nist:proceeding:send-1xx', send(options, 100), 'proceeding', 'send-response'],
    ['nist:proceeding:send-200-699', send(options, 500), 'completed', 'send-response start-J:32000'],
    ['nist:proceeding:transport-error', transportError, 'terminated', 'transport-error terminated'],
  ]),
  ...from(nistDone, [
    ['nist:completed:request', receiveRequest(options), 'completed', 'send-response'],
    ['nist:completed:send-response', send(options, 500), 'completed', ''],
    ['nist:completed:transport-error', transportError, 'terminated', 'transport-error cancel-J terminated'],
    ['nist:completed:timer-J', fire('J'), 'terminated', 'terminated'],
  ]),
];

describe('transaction transitions (RFC 3261 Figures 5–8, RFC 6026, RFC 4320)', () => {
  for (const c of cases) {
    it(c.id, () => {
      const d = c.run();
      expect(d.last.transitions).toEqual([c.id]);
      expect(d.state.state).toBe(c.to);
      expect(d.types()).toEqual(c.actions);
      const row = TRANSITIONS.find((t) => t.id === c.id)!;
      if (row.to !== 'same') expect(d.state.state).toBe(row.to);
    });
  }

  it('reliable transports take the zero-delay timers D, I, J, K within the same step', () => {
    const d = Driver.client(request('INVITE', 'z9hG4bKr', 'TCP'), { reliable: true });
    expect(d.types(d.last)).toEqual(['send-request', 'start-B:32000']);
    const step = d.apply({ type: 'response', message: response(invite, 486) });
    expect(step.transitions).toEqual(['ict:calling:300-699', 'ict:completed:timer-D']);
    expect(d.state.state).toBe('terminated');
  });

  it('exercises every transition in the table', () => {
    const missing = TRANSITIONS.map((t) => t.id).filter((id) => !taken.has(id));
    expect(missing).toEqual([]);
    expect(cases.map((c) => c.id).sort()).toEqual(TRANSITIONS.map((t) => t.id).sort());
    expect(`${taken.size}/${TRANSITIONS.length}`).toBe(`${TRANSITIONS.length}/${TRANSITIONS.length}`);
  });
});
