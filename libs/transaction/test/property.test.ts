/**
 * Property-based tests (fast-check) for the RFC 3261 §17 transaction machines, for every kind
 * (ICT, NICT, IST, NIST) on reliable and unreliable transports (and ICT with and without Timer C):
 *  1. random event sequences (responses of every class, request retransmissions and ACKs, TU
 *     responses, fires of armed timers, stale and bogus timer fires, transport errors, including
 *     events meant for the other side) never throw, only reach the legal states of the kind, only
 *     take transitions from TRANSITION_IDS in the order the transition table describes, never
 *     change their input, and keep the armed timers in step with a simulated scheduler;
 *  2. after any prefix of non-timer events, firing only the armed timers in due order terminates
 *     the transaction within the RFC bound for its state (one `terminated` action, then nothing);
 *  3. round-tripping the record through serialise/deserialise before every event changes nothing;
 *  4. a stale timer fire is a no-op (`any:stale-timer`, or `any:ignored` once terminated).
 *
 * Event sequences are generated as abstract "ops" that are resolved against the simulated timer
 * list when applied (a "fire" op fires one of the timers armed at that moment with the generation
 * of its most recent start-timer action), so the same op list can be replayed deterministically.
 */
import fc from 'fast-check';
import { type SipMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMERS,
  TRANSITIONS,
  TRANSITION_IDS,
  type Step,
  type TimerName,
  type TransactionAction,
  type TransactionEvent,
  type TransactionKind,
  type TransactionState,
  type TransactionStateName,
  applyEvent,
  createClientTransaction,
  createServerTransaction,
  deserialise,
  serialise,
} from '../src/index.js';
import { ackFor, request, response } from './fixtures.js';

// ---- configuration --------------------------------------------------------------------------------

/** Scales every numRuns below, for a longer soak: `FC_RUNS_SCALE=20 npx vitest run ...`. */
const RUNS_SCALE = Number(process.env['FC_RUNS_SCALE'] ?? '1') || 1;
const runs = (n: number) => Math.max(1, Math.round(n * RUNS_SCALE));
/** Asserts `property` on `n` generated cases (scaled by RUNS_SCALE). */
const holds = <Ts>(n: number, property: fc.IProperty<Ts>) => fc.assert(property, { numRuns: runs(n) });

const { t1: T1, t4: T4, timerD: D, timerC: C } = DEFAULT_TIMERS;

interface Config {
  kind: TransactionKind;
  reliable: boolean;
  /** ICT only: run the proxy's Timer C. */
  timerC: boolean;
}

const CONFIGS: Config[] = [
  ...[false, true].flatMap((reliable) => [
    { kind: 'ict' as const, reliable, timerC: false },
    { kind: 'ict' as const, reliable, timerC: true },
    { kind: 'nict' as const, reliable, timerC: false },
    { kind: 'ist' as const, reliable, timerC: false },
    { kind: 'nist' as const, reliable, timerC: false },
  ]),
];

const label = (c: Config) =>
  `${c.kind} ${c.reliable ? 'reliable' : 'unreliable'}${c.kind === 'ict' ? (c.timerC ? ' +timerC' : ' -timerC') : ''}`;

const LEGAL: Record<TransactionKind, readonly TransactionStateName[]> = {
  ict: ['calling', 'proceeding', 'completed', 'accepted', 'terminated'],
  nict: ['trying', 'proceeding', 'completed', 'terminated'],
  ist: ['proceeding', 'completed', 'confirmed', 'accepted', 'terminated'],
  nist: ['trying', 'proceeding', 'completed', 'terminated'],
};

const ALL_TIMERS: readonly TimerName[] = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M'];
const TRANSITION_BY_ID = new Map(TRANSITIONS.map((t) => [t.id, t]));

const isClient = (c: Config) => c.kind === 'ict' || c.kind === 'nict';

// ---- messages (built once per configuration and status) -----------------------------------------

interface Messages {
  request: SipMessage;
  /** The same request again, as a fresh parse (a retransmission). */
  retransmission: SipMessage;
  ack: SipMessage;
  response(status: number): SipMessage;
}

const messageCache = new Map<string, Messages>();

function messages(c: Config): Messages {
  const method = c.kind === 'ict' || c.kind === 'ist' ? 'INVITE' : 'OPTIONS';
  const cacheKey = `${method}/${c.reliable}`;
  const cached = messageCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const transport = c.reliable ? 'TCP' : 'UDP';
  const req = request(method, 'z9hG4bKprop1', transport);
  const responses = new Map<number, SipMessage>();
  const m: Messages = {
    request: req,
    retransmission: request(method, 'z9hG4bKprop1', transport),
    ack: ackFor(req, response(req, 486)),
    response(status) {
      let r = responses.get(status);
      if (r === undefined) responses.set(status, (r = response(req, status)));
      return r;
    },
  };
  messageCache.set(cacheKey, m);
  return m;
}

// ---- ops: abstract events, resolved against the simulated scheduler when applied -----------------

type Op =
  | { t: 'response'; status: number; dt: number }
  | { t: 'request'; dt: number }
  | { t: 'ack'; dt: number }
  | { t: 'send-response'; status: number; dt: number }
  /** Fire the armed timer number `pick` (mod the number armed) with its current generation. */
  | { t: 'fire'; pick: number; dt: number }
  /** A stale fire: an old generation of some timer (`old`), or any timer with a generation that is not armed (`bogus`). */
  | { t: 'stale'; mode: 'old' | 'bogus'; timer: TimerName; pick: number; delta: number; dt: number }
  | { t: 'transport-error'; dt: number };

const dtArb = fc.integer({ min: 0, max: 3000 });
/** 100, 18x, 2xx and 300–699, as the brief's status classes. */
const statusArb = fc.oneof(
  fc.constant(100),
  fc.integer({ min: 180, max: 189 }),
  fc.integer({ min: 200, max: 299 }),
  fc.integer({ min: 300, max: 699 }),
);
const finalStatusArb = fc.oneof(fc.integer({ min: 200, max: 299 }), fc.integer({ min: 300, max: 699 }));

const responseOp = fc.record({ t: fc.constant('response' as const), status: statusArb, dt: dtArb });
const requestOp = fc.record({ t: fc.constant('request' as const), dt: dtArb });
const ackOp = fc.record({ t: fc.constant('ack' as const), dt: dtArb });
const sendResponseOp = fc.record({ t: fc.constant('send-response' as const), status: statusArb, dt: dtArb });
const fireOp = fc.record({ t: fc.constant('fire' as const), pick: fc.nat(20), dt: dtArb });
const staleOp = fc.record({
  t: fc.constant('stale' as const),
  mode: fc.constantFrom('old' as const, 'bogus' as const),
  timer: fc.constantFrom(...ALL_TIMERS),
  pick: fc.nat(50),
  delta: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -1_000_000, max: 1_000_000 })),
  dt: dtArb,
});
const transportErrorOp = fc.record({ t: fc.constant('transport-error' as const), dt: dtArb });

/** Non-timer events; events for the other side (a request to a client, a response to a server) are rare. */
function nonTimerOpArb(c: Config): fc.Arbitrary<Op> {
  return isClient(c)
    ? fc.oneof(
        { arbitrary: responseOp, weight: 8 },
        { arbitrary: transportErrorOp, weight: 1 },
        { arbitrary: fc.oneof(requestOp, ackOp, sendResponseOp), weight: 1 },
      )
    : fc.oneof(
        { arbitrary: requestOp, weight: 3 },
        { arbitrary: ackOp, weight: 3 },
        { arbitrary: sendResponseOp, weight: 5 },
        { arbitrary: transportErrorOp, weight: 1 },
        { arbitrary: responseOp, weight: 1 },
      );
}

function opArb(c: Config): fc.Arbitrary<Op> {
  return fc.oneof(
    { arbitrary: nonTimerOpArb(c), weight: 6 },
    { arbitrary: fireOp, weight: 4 },
    { arbitrary: staleOp, weight: 2 },
  );
}

// ---- the simulated scheduler ----------------------------------------------------------------------

interface Armed {
  gen: number;
  due: number;
}

/** One transaction with its simulated clock and timer list (kept from the start/cancel actions). */
class Sim {
  state: TransactionState;
  now: number;
  readonly armed = new Map<TimerName, Armed>();
  /** Every (timer, generation) a start-timer action handed out. */
  readonly issued: { timer: TimerName; gen: number }[] = [];
  terminatedActions = 0;
  readonly steps: Step[] = [];

  constructor(
    readonly config: Config,
    start: number,
    /** Round-trip the record through serialise/deserialise before every event. */
    readonly roundTrip = false,
  ) {
    this.now = start;
    const m = messages(config);
    const step = isClient(config)
      ? createClientTransaction(m.request, { reliable: config.reliable, timerC: config.timerC }, start)
      : createServerTransaction(m.request, { reliable: config.reliable }, start);
    checkTransitions(config, 'start', step);
    this.state = step.state;
    this.track(step);
  }

  /** The event an op stands for at this moment, and whether it is a stale timer fire. */
  resolve(op: Op): { event: TransactionEvent; stale: boolean } {
    const m = messages(this.config);
    switch (op.t) {
      case 'response':
        return { event: { type: 'response', message: m.response(op.status) }, stale: false };
      case 'request':
        return { event: { type: 'request', message: m.retransmission }, stale: false };
      case 'ack':
        return { event: { type: 'request', message: m.ack }, stale: false };
      case 'send-response':
        return { event: { type: 'send-response', message: m.response(op.status) }, stale: false };
      case 'transport-error':
        return { event: { type: 'transport-error' }, stale: false };
      case 'fire': {
        const names = [...this.armed.keys()].sort();
        const timer = names[op.pick % Math.max(1, names.length)];
        if (timer === undefined) return this.resolve({ ...op, t: 'stale', mode: 'bogus', timer: 'A', delta: 1 });
        const armed = this.armed.get(timer);
        return { event: { type: 'timer', timer, generation: armed?.gen ?? -1 }, stale: false };
      }
      case 'stale': {
        const old = this.issued.filter((x) => this.armed.get(x.timer)?.gen !== x.gen);
        const chosen = old[op.pick % Math.max(1, old.length)];
        let timer = op.timer;
        let generation: number;
        if (op.mode === 'old' && chosen !== undefined) {
          timer = chosen.timer;
          generation = chosen.gen;
        } else {
          generation = (this.state.timers[timer]?.gen ?? this.state.gen) + op.delta;
        }
        if (this.state.timers[timer]?.gen === generation) generation += 1;
        return { event: { type: 'timer', timer, generation }, stale: true };
      }
    }
  }

  /** Applies one event at `now`; when it fires an armed timer, that timer job is consumed first. */
  apply(event: TransactionEvent): { before: TransactionState; step: Step } {
    const input = this.roundTrip ? deserialise(serialise(this.state)) : this.state;
    const before = serialise(input);
    if (event.type === 'timer' && this.armed.get(event.timer)?.gen === event.generation) {
      this.armed.delete(event.timer);
    }
    const step = applyEvent(input, event, this.now);
    // applyEvent is pure: its input record is left as it was.
    check(serialise(input) === before, 'applyEvent changed its input record');
    checkStep(this.config, input, step);
    this.state = step.state;
    this.track(step);
    return { before: input, step };
  }

  /** A Sim of `config` started at `start` that has applied `ops`. */
  static after(config: Config, start: number, ops: readonly Op[]): Sim {
    const sim = new Sim(config, start);
    for (const op of ops) sim.applyOp(op);
    return sim;
  }

  applyOp(op: Op): { before: TransactionState; step: Step; stale: boolean } {
    this.now += op.dt;
    const { event, stale } = this.resolve(op);
    if (event.type === 'timer' && !stale) {
      // A timer job runs at its due time at the earliest.
      this.now = Math.max(this.now, this.armed.get(event.timer)?.due ?? this.now);
    }
    return { ...this.apply(event), stale };
  }

  /** Fires the earliest armed timer (ties in generation order); false when none is armed. */
  fireEarliest(): boolean {
    let next: [TimerName, Armed] | undefined;
    for (const entry of this.armed) {
      if (
        next === undefined ||
        entry[1].due < next[1].due ||
        (entry[1].due === next[1].due && entry[1].gen < next[1].gen)
      )
        next = entry;
    }
    if (next === undefined) return false;
    this.now = Math.max(this.now, next[1].due);
    this.apply({ type: 'timer', timer: next[0], generation: next[1].gen });
    return true;
  }

  private track(step: Step): void {
    this.steps.push(step);
    for (const a of step.actions) {
      if (a.type === 'start-timer') {
        check(Number.isFinite(a.delayMs) && a.delayMs > 0, `start-timer ${a.timer} with delay ${a.delayMs}`);
        this.armed.set(a.timer, { gen: a.generation, due: this.now + a.delayMs });
        this.issued.push({ timer: a.timer, gen: a.generation });
      } else if (a.type === 'cancel-timer') {
        // A cancel names the generation the scheduler holds.
        check(this.armed.get(a.timer)?.gen === a.generation, `cancel-timer ${a.timer}/${a.generation} not armed`);
        this.armed.delete(a.timer);
      } else if (a.type === 'terminated') {
        this.terminatedActions += 1;
      }
    }
    // The scheduler's timer list and the record's armed timers agree.
    const recorded = Object.entries(step.state.timers)
      .map(([t, v]) => `${t}:${v?.gen}`)
      .sort()
      .join(',');
    const scheduled = [...this.armed]
      .map(([t, v]) => `${t}:${v.gen}`)
      .sort()
      .join(',');
    check(scheduled === recorded, `scheduled timers [${scheduled}] but the record has [${recorded}]`);
  }
}

// ---- per-step invariants --------------------------------------------------------------------------

/** A cheap assertion for the per-step invariants (vitest's `expect` is slow in tight loops). */
function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Each transition id is in the table and the chain from → to leads from the old state to the new one. */
function checkTransitions(c: Config, from: TransactionStateName | 'start', step: Step): void {
  check(step.transitions.length > 0, 'a step took no transition');
  let cur: TransactionStateName | 'start' = from;
  for (const id of step.transitions) {
    check(TRANSITION_IDS.has(id), `transition ${id} is not in TRANSITION_IDS`);
    const t = TRANSITION_BY_ID.get(id);
    if (t === undefined) continue;
    check(t.kind === 'any' || t.kind === c.kind, `transition ${id} taken by a ${c.kind}`);
    check(t.from === 'any' || t.from === cur, `transition ${id} taken in ${cur}`);
    if (t.to !== 'same') cur = t.to;
  }
  check(
    cur === step.state.state,
    `transitions [${step.transitions.join(', ')}] from ${from} lead to ${cur}, state is ${step.state.state}`,
  );
}

function checkStep(c: Config, before: TransactionState, step: Step): void {
  const s = step.state;
  check(LEGAL[c.kind].includes(s.state), `${c.kind} reached illegal state ${s.state}`);
  check(s.kind === c.kind && s.key === before.key, 'kind or key changed');
  checkTransitions(c, before.state, step);
  const terminatedHere = step.actions.filter((a) => a.type === 'terminated').length;
  if (before.state === 'terminated') {
    // Nothing happens to a terminated transaction.
    check(step.actions.length === 0, `actions after Terminated: ${step.actions.map((a) => a.type).join(', ')}`);
    check(step.transitions.join() === 'any:ignored', `transitions after Terminated: ${step.transitions.join()}`);
    check(serialise({ ...s, updatedAt: before.updatedAt }) === serialise(before), 'record changed after Terminated');
  } else {
    // A `terminated` action exactly when the step enters Terminated, as the last action.
    check(terminatedHere === (s.state === 'terminated' ? 1 : 0), `${terminatedHere} terminated actions in ${s.state}`);
    check(terminatedHere === 0 || step.actions.at(-1)?.type === 'terminated', 'actions after the terminated action');
  }
  check(s.state !== 'terminated' || Object.keys(s.timers).length === 0, 'timers armed in Terminated');
}

/** Whether `value` survives JSON as is: plain objects and arrays of strings, finite numbers, booleans, null. */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value as Record<string, unknown>).every(isPlainJson);
}

// ---- comparison helpers ---------------------------------------------------------------------------

function actionView(a: TransactionAction): Record<string, unknown> {
  switch (a.type) {
    case 'send':
      return { type: a.type, what: a.what, wire: a.wire.toString('latin1') };
    case 'to-tu':
      return { type: a.type, message: a.message.toBuffer().toString('latin1') };
    case 'start-timer':
      return { type: a.type, timer: a.timer, delayMs: a.delayMs, generation: a.generation };
    case 'cancel-timer':
      return { type: a.type, timer: a.timer, generation: a.generation };
    case 'timeout':
      return { type: a.type, timer: a.timer };
    default:
      return { type: a.type };
  }
}

const stepView = (step: Step) => ({
  state: serialise(step.state),
  actions: step.actions.map(actionView),
  transitions: step.transitions,
});

/** The remaining time to Terminated, from the end of the prefix, when only timers fire (see property 2). */
function remainingBound(c: Config, state: TransactionStateName): number {
  const zeroIfReliable = (ms: number) => (c.reliable ? 0 : ms);
  switch (`${c.kind}:${state}`) {
    case 'ict:calling':
      return 64 * T1; // Timer B (Timer C, if running, is longer)
    case 'ict:proceeding':
      return c.timerC ? C + 64 * T1 : Number.NaN; // Timer C, then the restarted Timer C after the CANCEL
    case 'ict:completed':
      return zeroIfReliable(D); // Timer D
    case 'ict:accepted':
      return 64 * T1; // Timer M
    case 'nict:trying':
    case 'nict:proceeding':
      return 64 * T1; // Timer F
    case 'nict:completed':
      return zeroIfReliable(T4); // Timer K
    case 'ist:completed':
      return 64 * T1; // Timer H
    case 'ist:confirmed':
      return zeroIfReliable(T4); // Timer I
    case 'ist:accepted':
      return 64 * T1; // Timer L
    case 'nist:completed':
      return zeroIfReliable(64 * T1); // Timer J
    case `${c.kind}:terminated`:
      return 0;
    default:
      return Number.NaN; // a state that waits for a message (handled before the timer phase)
  }
}

/** The bound for the kind as a whole, with default settings. */
function kindBound(c: Config): number {
  switch (c.kind) {
    case 'ict':
      return c.timerC ? C + 64 * T1 : Math.max(64 * T1, D); // max(B, D, M), or C + 64·T1 with Timer C
    case 'nict':
      return Math.max(64 * T1, T4); // max(F, K)
    case 'ist':
      return 64 * T1 + T4; // H (+ I after an ACK), L
    case 'nist':
      return 64 * T1; // J
  }
}

/** States in which no timer runs: the transaction waits for a final response (from the TU or the next hop). */
function waitsForFinal(c: Config, state: TransactionStateName): boolean {
  return (
    (c.kind === 'ict' && !c.timerC && state === 'proceeding') ||
    (c.kind === 'ist' && state === 'proceeding') ||
    (c.kind === 'nist' && (state === 'trying' || state === 'proceeding'))
  );
}

const startArb = fc.integer({ min: 0, max: 2_000_000_000 });
/** `holds` for a transaction started at a generated time: `predicate` gets that start and a generated `values`. */
const holdsFromStart = <T>(n: number, values: fc.Arbitrary<T>, predicate: (start: number, values: T) => void) =>
  holds(n, fc.property(startArb, values, predicate));

// ---- properties -----------------------------------------------------------------------------------

describe.each(CONFIGS.map((c) => [label(c), c] as const))('%s', (_name, c) => {
  it('random event sequences stay in the legal states and never throw', () => {
    holdsFromStart(150, fc.array(opArb(c), { minLength: 1, maxLength: 40 }), (start, ops) => {
      expect(Sim.after(c, start, ops).terminatedActions).toBeLessThanOrEqual(1);
    });
  });

  it('terminates within its bound when only timers fire', () => {
    /*
     * Bounds, default settings (T1 = 500, T4 = 5000, D = 32000, C = 181000), measured from the last
     * event of the prefix (every timer armed by then was started at or before it):
     *  ICT   Calling: B = 64·T1 (Timer C, when on, is longer). Proceeding: no timer without Timer C
     *        (RFC 3261 §17.1.1.2: it waits for a final response, so the prefix gets one); with Timer
     *        C: C, then the CANCEL and the restarted C of 64·T1 = C + 64·T1. Completed: D (0 on
     *        reliable transports). Accepted: M = 64·T1.
     *  NICT  Trying/Proceeding: F = 64·T1. Completed: K = T4 (0 on reliable transports).
     *  IST   Proceeding: no timer (the TU must answer, so the prefix ends with a TU final response).
     *        Completed: H = 64·T1 (no ACK arrives once only timers fire). Confirmed (ACK in the
     *        prefix): I = T4 (0 reliable). Accepted: L = 64·T1. Kind bound H + I.
     *  NIST  Trying/Proceeding: no timer (the TU must answer; the prefix ends with a TU final
     *        response). Completed: J = 64·T1 (0 on reliable transports).
     */
    holdsFromStart(
      150,
      fc.tuple(fc.array(nonTimerOpArb(c), { maxLength: 12 }), finalStatusArb, fc.array(opArb(c), { maxLength: 5 })),
      (start, [prefix, finalStatus, after]) => {
        const sim = Sim.after(c, start, prefix);
        if (waitsForFinal(c, sim.state.state)) {
          // No timer can end this state: the assumption is that the TU (or next hop) answers.
          expect(sim.state.timers).toEqual({});
          expect(sim.armed.size).toBe(0);
          sim.applyOp({ t: isClient(c) ? 'response' : 'send-response', status: finalStatus, dt: 0 });
        }
        const prefixEnd = sim.now;
        const bound = remainingBound(c, sim.state.state);
        expect(Number.isNaN(bound), `no bound for ${c.kind}:${sim.state.state}`).toBe(false);

        let fires = 0;
        while (sim.state.state !== 'terminated') {
          expect(fires++, `timer fires in ${sim.state.state}`).toBeLessThan(200);
          expect(sim.fireEarliest(), `no timer armed in ${sim.state.state}`).toBe(true);
        }
        const elapsed = sim.now - prefixEnd;
        expect(elapsed).toBeLessThanOrEqual(bound);
        expect(elapsed).toBeLessThanOrEqual(kindBound(c));
        expect(sim.armed.size).toBe(0);
        expect(sim.terminatedActions).toBe(1);

        // Nothing happens after Terminated.
        const done = serialise(sim.state);
        for (const op of after) {
          const { step } = sim.applyOp(op);
          expect(step.actions).toEqual([]);
          expect(step.transitions).toEqual(['any:ignored']);
          expect(serialise({ ...step.state, updatedAt: 0 })).toBe(serialise({ ...deserialise(done), updatedAt: 0 }));
        }
        expect(sim.terminatedActions).toBe(1);
      },
    );
  });

  it('deserialise(serialise(state)) behaves like the in-memory state at every step', () => {
    holdsFromStart(100, fc.array(opArb(c), { minLength: 1, maxLength: 40 }), (start, ops) => {
      const memory = new Sim(c, start);
      const stored = new Sim(c, start, true);
      // The JSON form is lossless: no undefined fields, Buffers or non-JSON numbers in the record.
      expect(deserialise(serialise(memory.state))).toStrictEqual(memory.state);
      for (const op of ops) {
        memory.applyOp(op);
        stored.applyOp(op);
        check(isPlainJson(memory.state), `record is not plain JSON: ${serialise(memory.state)}`);
      }
      expect(deserialise(serialise(memory.state))).toStrictEqual(memory.state);
      expect(stored.steps.map(stepView)).toEqual(memory.steps.map(stepView));
    });
  });

  it('a stale timer fire is a no-op', () => {
    holdsFromStart(
      100,
      fc.tuple(fc.array(opArb(c), { maxLength: 30 }), fc.array(staleOp, { minLength: 1, maxLength: 3 })),
      (start, [ops, stale]) => {
        const sim = new Sim(c, start);
        // Stale fires mixed into the sequence (inside `ops`) and a few at its end.
        let checked = 0;
        for (const op of [...ops, ...stale]) {
          const { before, step, stale: isStale } = sim.applyOp(op);
          if (!isStale) continue;
          checked += 1;
          expect(step.actions).toEqual([]);
          expect(step.transitions).toEqual([before.state === 'terminated' ? 'any:ignored' : 'any:stale-timer']);
          expect(step.state.updatedAt).toBe(sim.now);
          expect(serialise({ ...step.state, updatedAt: before.updatedAt })).toBe(serialise(before));
        }
        expect(checked).toBeGreaterThanOrEqual(stale.length);
      },
    );
  });
});
