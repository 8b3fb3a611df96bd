import type { SipMessage } from '@sipedge/sip';
import { type TimerName, type TimerSettings, initialDelay } from './timers.js';
import { TRANSITION_IDS } from './transitions.js';
import type { Step, TransactionAction, TransactionState, TransactionStateName } from './types.js';

/**
 * A working copy of a transaction during one step: the handlers change it through these methods,
 * which collect the actions to perform after the new state is committed.
 */
export class Draft {
  readonly state: TransactionState;
  readonly actions: TransactionAction[] = [];
  readonly transitions: string[] = [];
  /** Zero-delay timers (reliable transports) fire within the same step, in order. */
  readonly dueNow: { timer: TimerName; generation: number }[] = [];

  constructor(
    state: TransactionState,
    readonly settings: TimerSettings,
    private readonly now: number,
  ) {
    this.state = { ...state, timers: { ...state.timers }, updatedAt: now };
  }

  take(id: string): void {
    if (!TRANSITION_IDS.has(id)) throw new Error(`transition ${id} is not in the transition table`);
    this.transitions.push(id);
  }

  go(to: TransactionStateName): void {
    this.state.state = to;
  }

  send(wire: string, what: 'request' | 'response' | 'ack'): void {
    this.actions.push({ type: 'send', wire: Buffer.from(wire, 'latin1'), what });
  }

  toTu(message: SipMessage): void {
    this.actions.push({ type: 'to-tu', message });
  }

  report(action: TransactionAction): void {
    this.actions.push(action);
  }

  /** Arms a timer with its first delay (or `delay`); unused timers on this transport are skipped. */
  start(timer: TimerName, delay: number | null = initialDelay(timer, this.state.reliable, this.settings)): void {
    if (delay === null) return;
    this.cancel(timer);
    const generation = ++this.state.gen;
    this.state.timers[timer] = { gen: generation, interval: delay, due: this.now + delay };
    if (delay === 0) this.dueNow.push({ timer, generation });
    else this.actions.push({ type: 'start-timer', timer, delayMs: delay, generation });
  }

  cancel(timer: TimerName): void {
    const armed = this.state.timers[timer];
    if (armed === undefined) return;
    delete this.state.timers[timer];
    if (armed.interval > 0) this.actions.push({ type: 'cancel-timer', timer, generation: armed.gen });
  }

  /** Takes a timer out of the armed set as it fires; returns its interval. */
  fired(timer: TimerName): number {
    const armed = this.state.timers[timer];
    delete this.state.timers[timer];
    return armed?.interval ?? 0;
  }

  /** Timer `timer` fired and ends the transaction through transition `id`. */
  expire(id: string, timer: TimerName): void {
    this.take(id);
    this.fired(timer);
    this.terminate();
  }

  /**
   * Timer `timer` (B, C, F or H) fired before a final response or ACK: the TU is told (it treats
   * it as a 408, §8.1.3.1, §16.8) and the transaction ends through transition `id`.
   */
  timeout(id: string, timer: TimerName): void {
    this.take(id);
    this.fired(timer);
    this.report({ type: 'timeout', timer });
    this.terminate();
  }

  /** The transport failed (§17.1.4, §17.2.4): the TU is told and the transaction ends through transition `id`. */
  transportError(id: string): void {
    this.take(id);
    this.report({ type: 'transport-error' });
    this.terminate();
  }

  /** A timer the current state does not take: it is disarmed and the event ignored. */
  ignoreTimer(timer: TimerName): void {
    this.fired(timer);
    this.take('any:ignored');
  }

  /** Enters Terminated: every armed timer is cancelled and the record can go (§17.1.1.2 "destroyed"). */
  terminate(): void {
    for (const timer of Object.keys(this.state.timers) as TimerName[]) this.cancel(timer);
    this.go('terminated');
    this.actions.push({ type: 'terminated' });
  }

  result(): Step {
    return { state: this.state, actions: this.actions, transitions: this.transitions };
  }
}
