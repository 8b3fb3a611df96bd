import type { SipMessage } from '@sipedge/sip';
import {
  type ClientOptions,
  type ServerOptions,
  type Step,
  type TimerName,
  type TransactionAction,
  type TransactionEvent,
  type TransactionState,
  applyEvent,
  createClientTransaction,
  createServerTransaction,
} from '../src/index.js';

/** Every transition id any driver took, for the coverage test. */
export const taken = new Set<string>();

interface Pending {
  timer: TimerName;
  generation: number;
  due: number;
}

/**
 * Runs one transaction on a simulated clock: applies events, keeps the timer jobs its actions
 * start and cancel (as the BullMQ adapter will), and fires them in time order.
 */
export class Driver {
  state: TransactionState;
  now = 0;
  last: Step;
  /** Every action so far, with the simulated time it was produced at. */
  readonly log: { at: number; action: TransactionAction }[] = [];
  private jobs: Pending[] = [];

  private constructor(first: Step) {
    this.state = first.state;
    this.last = first;
    this.record(first);
  }

  static client(request: SipMessage, options: ClientOptions): Driver {
    return new Driver(createClientTransaction(request, options, 0));
  }

  static server(request: SipMessage, options: ServerOptions): Driver {
    return new Driver(createServerTransaction(request, options, 0));
  }

  apply(event: TransactionEvent): Step {
    const step = applyEvent(this.state, event, this.now);
    this.state = step.state;
    this.last = step;
    this.record(step);
    return step;
  }

  /** Fires the armed timer `timer` now (with its current generation). */
  fire(timer: TimerName): Step {
    const armed = this.state.timers[timer];
    if (armed === undefined) throw new Error(`timer ${timer} is not armed`);
    this.jobs = this.jobs.filter((j) => !(j.timer === timer && j.generation === armed.gen));
    return this.apply({ type: 'timer', timer, generation: armed.gen });
  }

  /** Advances the clock to `until`, firing due timer jobs in order. */
  runUntil(until: number): void {
    for (;;) {
      this.jobs.sort((a, b) => a.due - b.due);
      const next = this.jobs[0];
      if (next === undefined || next.due > until) break;
      this.jobs.shift();
      this.now = next.due;
      this.apply({ type: 'timer', timer: next.timer, generation: next.generation });
    }
    this.now = until;
  }

  /** Simulated times at which the transaction sent something of kind `what`. */
  sendTimes(what: 'request' | 'response' | 'ack'): number[] {
    return this.log.filter((e) => e.action.type === 'send' && e.action.what === what).map((e) => e.at);
  }

  types(step: Step = this.last): string[] {
    return step.actions.map((a) =>
      a.type === 'start-timer'
        ? `start-${a.timer}:${a.delayMs}`
        : a.type === 'cancel-timer'
          ? `cancel-${a.timer}`
          : a.type === 'send'
            ? `send-${a.what}`
            : a.type === 'timeout'
              ? `timeout-${a.timer}`
              : a.type,
    );
  }

  private record(step: Step): void {
    for (const id of step.transitions) taken.add(id);
    for (const action of step.actions) {
      this.log.push({ at: this.now, action });
      if (action.type === 'start-timer') {
        this.jobs.push({ timer: action.timer, generation: action.generation, due: this.now + action.delayMs });
      } else if (action.type === 'cancel-timer') {
        this.jobs = this.jobs.filter((j) => !(j.timer === action.timer && j.generation === action.generation));
      }
    }
  }
}
