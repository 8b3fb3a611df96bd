/**
 * Table-driven tests: one case per arrow of RFC 3261 Figures 5–8 (as updated by RFC 6026 and
 * RFC 4320, with the proxy's Timer C), each asserting the state reached and the actions taken.
 * The last test checks that together they exercise every transition in TRANSITIONS.
 */
import { describe, expect, it } from 'vitest';
import { TRANSITIONS, type TransactionStateName } from '../src/index.js';
import { Driver, taken } from './driver.js';
import { ackFor, request, response } from './fixtures.js';

const invite = request('INVITE');
const options = request('OPTIONS');
const ict = (timerC = false) => Driver.client(invite, { reliable: false, timerC });
const nict = () => Driver.client(options, { reliable: false });
const ist = () => Driver.server(invite, { reliable: false });
const nist = (reliable = false) => Driver.server(options, { reliable });

interface Case {
  id: string;
  /** Builds the transaction, brings it to the source state and applies the event under test. */
  run: () => Driver;
  to: TransactionStateName;
  actions: string[];
}

const cases: Case[] = [
  // ---- INVITE client (Figure 5, RFC 6026) ----
  { id: 'ict:start', run: () => ict(), to: 'calling', actions: ['send-request', 'start-A:500', 'start-B:32000'] },
  {
    id: 'ict:calling:timer-A',
    run: () => tap(ict(), (d) => d.fire('A')),
    to: 'calling',
    actions: ['send-request', 'start-A:1000'],
  },
  {
    id: 'ict:calling:timer-B',
    run: () => tap(ict(), (d) => d.fire('B')),
    to: 'terminated',
    actions: ['timeout-B', 'cancel-A', 'terminated'],
  },
  {
    id: 'ict:calling:1xx',
    run: () => tap(ict(), (d) => d.apply({ type: 'response', message: response(invite, 180) })),
    to: 'proceeding',
    actions: ['cancel-A', 'cancel-B', 'to-tu'],
  },
  {
    id: 'ict:calling:2xx',
    run: () => tap(ict(), (d) => d.apply({ type: 'response', message: response(invite, 200) })),
    to: 'accepted',
    actions: ['cancel-A', 'cancel-B', 'start-M:32000', 'to-tu'],
  },
  {
    id: 'ict:calling:300-699',
    run: () => tap(ict(), (d) => d.apply({ type: 'response', message: response(invite, 486) })),
    to: 'completed',
    actions: ['cancel-A', 'cancel-B', 'send-ack', 'start-D:32000', 'to-tu'],
  },
  {
    id: 'ict:calling:transport-error',
    run: () => tap(ict(), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'cancel-A', 'cancel-B', 'terminated'],
  },
  {
    id: 'ict:calling:timer-C',
    run: () => tap(ict(true), (d) => d.fire('C')),
    to: 'terminated',
    actions: ['timeout-C', 'cancel-A', 'cancel-B', 'terminated'],
  },
  {
    id: 'ict:proceeding:1xx',
    run: () => tap(ringing(ict(true)), (d) => d.apply({ type: 'response', message: response(invite, 183) })),
    to: 'proceeding',
    actions: ['cancel-C', 'start-C:181000', 'to-tu'],
  },
  {
    id: 'ict:proceeding:2xx',
    run: () => tap(ringing(ict()), (d) => d.apply({ type: 'response', message: response(invite, 200) })),
    to: 'accepted',
    actions: ['start-M:32000', 'to-tu'],
  },
  {
    id: 'ict:proceeding:300-699',
    run: () => tap(ringing(ict()), (d) => d.apply({ type: 'response', message: response(invite, 603) })),
    to: 'completed',
    actions: ['send-ack', 'start-D:32000', 'to-tu'],
  },
  {
    id: 'ict:proceeding:timer-C',
    run: () => tap(ringing(ict(true)), (d) => d.fire('C')),
    to: 'proceeding',
    actions: ['cancel-branch', 'start-C:32000'],
  },
  {
    id: 'ict:proceeding:timer-C-again',
    run: () => tap(ringing(ict(true)), (d) => (d.fire('C'), d.fire('C'))),
    to: 'terminated',
    actions: ['timeout-C', 'terminated'],
  },
  {
    id: 'ict:completed:300-699',
    run: () => tap(rejected(ict()), (d) => d.apply({ type: 'response', message: response(invite, 486) })),
    to: 'completed',
    actions: ['send-ack'],
  },
  {
    id: 'ict:completed:transport-error',
    run: () => tap(rejected(ict()), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'cancel-D', 'terminated'],
  },
  {
    id: 'ict:completed:timer-D',
    run: () => tap(rejected(ict()), (d) => d.fire('D')),
    to: 'terminated',
    actions: ['terminated'],
  },
  {
    id: 'ict:accepted:2xx',
    run: () => tap(answered(ict()), (d) => d.apply({ type: 'response', message: response(invite, 200) })),
    to: 'accepted',
    actions: ['to-tu'],
  },
  {
    id: 'ict:accepted:timer-M',
    run: () => tap(answered(ict()), (d) => d.fire('M')),
    to: 'terminated',
    actions: ['terminated'],
  },
  // ---- non-INVITE client (Figure 6) ----
  { id: 'nict:start', run: () => nict(), to: 'trying', actions: ['send-request', 'start-E:500', 'start-F:32000'] },
  {
    id: 'nict:trying:timer-E',
    run: () => tap(nict(), (d) => d.fire('E')),
    to: 'trying',
    actions: ['send-request', 'start-E:1000'],
  },
  {
    id: 'nict:trying:timer-F',
    run: () => tap(nict(), (d) => d.fire('F')),
    to: 'terminated',
    actions: ['timeout-F', 'cancel-E', 'terminated'],
  },
  {
    id: 'nict:trying:transport-error',
    run: () => tap(nict(), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'cancel-E', 'cancel-F', 'terminated'],
  },
  {
    id: 'nict:trying:1xx',
    run: () => tap(nict(), (d) => d.apply({ type: 'response', message: response(options, 100) })),
    to: 'proceeding',
    actions: ['to-tu'],
  },
  {
    id: 'nict:trying:200-699',
    run: () => tap(nict(), (d) => d.apply({ type: 'response', message: response(options, 200) })),
    to: 'completed',
    actions: ['cancel-E', 'cancel-F', 'start-K:5000', 'to-tu'],
  },
  {
    id: 'nict:proceeding:timer-E',
    run: () => tap(nict(), (d) => (d.apply({ type: 'response', message: response(options, 100) }), d.fire('E'))),
    to: 'proceeding',
    actions: ['send-request', 'start-E:4000'],
  },
  {
    id: 'nict:proceeding:timer-F',
    run: () => tap(nict(), (d) => (d.apply({ type: 'response', message: response(options, 100) }), d.fire('F'))),
    to: 'terminated',
    actions: ['timeout-F', 'cancel-E', 'terminated'],
  },
  {
    id: 'nict:proceeding:transport-error',
    run: () =>
      tap(
        nict(),
        (d) => (d.apply({ type: 'response', message: response(options, 100) }), d.apply({ type: 'transport-error' })),
      ),
    to: 'terminated',
    actions: ['transport-error', 'cancel-E', 'cancel-F', 'terminated'],
  },
  {
    id: 'nict:proceeding:1xx',
    run: () =>
      tap(nict(), (d) => {
        d.apply({ type: 'response', message: response(options, 100) });
        d.apply({ type: 'response', message: response(options, 100) });
      }),
    to: 'proceeding',
    actions: ['to-tu'],
  },
  {
    id: 'nict:proceeding:200-699',
    run: () =>
      tap(nict(), (d) => {
        d.apply({ type: 'response', message: response(options, 100) });
        d.apply({ type: 'response', message: response(options, 404) });
      }),
    to: 'completed',
    actions: ['cancel-E', 'cancel-F', 'start-K:5000', 'to-tu'],
  },
  {
    id: 'nict:completed:response',
    run: () =>
      tap(nict(), (d) => {
        d.apply({ type: 'response', message: response(options, 200) });
        d.apply({ type: 'response', message: response(options, 200) });
      }),
    to: 'completed',
    actions: [],
  },
  {
    id: 'nict:completed:timer-K',
    run: () => tap(nict(), (d) => (d.apply({ type: 'response', message: response(options, 200) }), d.fire('K'))),
    to: 'terminated',
    actions: ['terminated'],
  },
  // ---- INVITE server (Figure 7, RFC 6026) ----
  { id: 'ist:start', run: () => ist(), to: 'proceeding', actions: ['to-tu', 'send-response'] },
  {
    id: 'ist:proceeding:request',
    run: () => tap(ist(), (d) => d.apply({ type: 'request', message: invite })),
    to: 'proceeding',
    actions: ['send-response'],
  },
  {
    id: 'ist:proceeding:send-1xx',
    run: () => tap(ist(), (d) => d.apply({ type: 'send-response', message: response(invite, 180) })),
    to: 'proceeding',
    actions: ['send-response'],
  },
  {
    id: 'ist:proceeding:send-2xx',
    run: () => tap(ist(), (d) => d.apply({ type: 'send-response', message: response(invite, 200) })),
    to: 'accepted',
    actions: ['send-response', 'start-L:32000'],
  },
  {
    id: 'ist:proceeding:send-300-699',
    run: () => tap(ist(), (d) => d.apply({ type: 'send-response', message: response(invite, 486) })),
    to: 'completed',
    actions: ['send-response', 'start-G:500', 'start-H:32000'],
  },
  {
    id: 'ist:proceeding:transport-error',
    run: () => tap(ist(), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'terminated'],
  },
  {
    id: 'ist:completed:request',
    run: () => tap(busy(ist()), (d) => d.apply({ type: 'request', message: invite })),
    to: 'completed',
    actions: ['send-response'],
  },
  {
    id: 'ist:completed:timer-G',
    run: () => tap(busy(ist()), (d) => d.fire('G')),
    to: 'completed',
    actions: ['send-response', 'start-G:1000'],
  },
  {
    id: 'ist:completed:timer-H',
    run: () => tap(busy(ist()), (d) => d.fire('H')),
    to: 'terminated',
    actions: ['timeout-H', 'cancel-G', 'terminated'],
  },
  {
    id: 'ist:completed:ack',
    run: () => tap(busy(ist()), (d) => d.apply({ type: 'request', message: ackFor(invite, response(invite, 486)) })),
    to: 'confirmed',
    actions: ['cancel-G', 'cancel-H', 'start-I:5000'],
  },
  {
    id: 'ist:completed:transport-error',
    run: () => tap(busy(ist()), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'cancel-G', 'cancel-H', 'terminated'],
  },
  {
    id: 'ist:confirmed:ack',
    run: () =>
      tap(confirmed(ist()), (d) => d.apply({ type: 'request', message: ackFor(invite, response(invite, 486)) })),
    to: 'confirmed',
    actions: [],
  },
  {
    id: 'ist:confirmed:timer-I',
    run: () => tap(confirmed(ist()), (d) => d.fire('I')),
    to: 'terminated',
    actions: ['terminated'],
  },
  {
    id: 'ist:accepted:request',
    run: () => tap(accepted(ist()), (d) => d.apply({ type: 'request', message: invite })),
    to: 'accepted',
    actions: [],
  },
  {
    id: 'ist:accepted:send-2xx',
    run: () => tap(accepted(ist()), (d) => d.apply({ type: 'send-response', message: response(invite, 200) })),
    to: 'accepted',
    actions: ['send-response'],
  },
  {
    id: 'ist:accepted:ack',
    run: () => tap(accepted(ist()), (d) => d.apply({ type: 'request', message: request('ACK', 'z9hG4bKtx1') })),
    to: 'accepted',
    actions: ['to-tu'],
  },
  {
    id: 'ist:accepted:transport-error',
    run: () => tap(accepted(ist()), (d) => d.apply({ type: 'transport-error' })),
    to: 'accepted',
    actions: ['transport-error'],
  },
  {
    id: 'ist:accepted:timer-L',
    run: () => tap(accepted(ist()), (d) => d.fire('L')),
    to: 'terminated',
    actions: ['terminated'],
  },
  // ---- non-INVITE server (Figure 8, RFC 4320) ----
  { id: 'nist:start', run: () => nist(), to: 'trying', actions: ['to-tu'] },
  {
    id: 'nist:trying:request',
    run: () => tap(nist(), (d) => d.apply({ type: 'request', message: options })),
    to: 'trying',
    actions: [],
  },
  {
    id: 'nist:trying:send-1xx',
    run: () => tap(nist(true), (d) => d.apply({ type: 'send-response', message: response(options, 100) })),
    to: 'proceeding',
    actions: ['send-response'],
  },
  {
    id: 'nist:trying:send-1xx-suppressed',
    run: () => tap(nist(), (d) => d.apply({ type: 'send-response', message: response(options, 100) })),
    to: 'trying',
    actions: [],
  },
  {
    id: 'nist:trying:send-200-699',
    run: () => tap(nist(), (d) => d.apply({ type: 'send-response', message: response(options, 200) })),
    to: 'completed',
    actions: ['send-response', 'start-J:32000'],
  },
  {
    id: 'nist:proceeding:request',
    run: () => tap(nistProceeding(), (d) => d.apply({ type: 'request', message: options })),
    to: 'proceeding',
    actions: ['send-response'],
  },
  {
    id: 'nist:proceeding:send-1xx',
    run: () => tap(nistProceeding(), (d) => d.apply({ type: 'send-response', message: response(options, 100) })),
    to: 'proceeding',
    actions: ['send-response'],
  },
  {
    id: 'nist:proceeding:send-200-699',
    run: () => tap(nistProceeding(), (d) => d.apply({ type: 'send-response', message: response(options, 500) })),
    to: 'completed',
    actions: ['send-response', 'start-J:32000'],
  },
  {
    id: 'nist:proceeding:transport-error',
    run: () => tap(nistProceeding(), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'terminated'],
  },
  {
    id: 'nist:completed:request',
    run: () => tap(nistDone(), (d) => d.apply({ type: 'request', message: options })),
    to: 'completed',
    actions: ['send-response'],
  },
  {
    id: 'nist:completed:send-response',
    run: () => tap(nistDone(), (d) => d.apply({ type: 'send-response', message: response(options, 500) })),
    to: 'completed',
    actions: [],
  },
  {
    id: 'nist:completed:transport-error',
    run: () => tap(nistDone(), (d) => d.apply({ type: 'transport-error' })),
    to: 'terminated',
    actions: ['transport-error', 'cancel-J', 'terminated'],
  },
  {
    id: 'nist:completed:timer-J',
    run: () => tap(nistDone(), (d) => d.fire('J')),
    to: 'terminated',
    actions: ['terminated'],
  },
  // ---- any machine ----
  {
    id: 'any:stale-timer',
    run: () =>
      tap(ict(), (d) => {
        const old = d.state.timers.A!.gen;
        d.fire('A');
        d.apply({ type: 'timer', timer: 'A', generation: old });
      }),
    to: 'calling',
    actions: [],
  },
  {
    id: 'any:ignored',
    run: () => tap(rejected(ict()), (d) => d.apply({ type: 'response', message: response(invite, 180) })),
    to: 'completed',
    actions: [],
  },
];

function tap(d: Driver, f: (d: Driver) => unknown): Driver {
  f(d);
  return d;
}
const ringing = (d: Driver) => tap(d, (x) => x.apply({ type: 'response', message: response(invite, 180) }));
const rejected = (d: Driver) => tap(d, (x) => x.apply({ type: 'response', message: response(invite, 486) }));
const answered = (d: Driver) => tap(d, (x) => x.apply({ type: 'response', message: response(invite, 200) }));
const busy = (d: Driver) => tap(d, (x) => x.apply({ type: 'send-response', message: response(invite, 486) }));
const confirmed = (d: Driver) =>
  tap(busy(d), (x) => x.apply({ type: 'request', message: ackFor(invite, response(invite, 486)) }));
const accepted = (d: Driver) => tap(d, (x) => x.apply({ type: 'send-response', message: response(invite, 200) }));
// RFC 4320 §4.1: over UDP a 100 may only go out once the client's Timer E has reached T2.
const nistProceeding = () =>
  tap(nist(), (x) => {
    x.now = 4000;
    x.apply({ type: 'send-response', message: response(options, 100) });
  });
const nistDone = () => tap(nist(), (x) => x.apply({ type: 'send-response', message: response(options, 200) }));

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
