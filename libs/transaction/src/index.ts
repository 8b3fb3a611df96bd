export {
  createClientTransaction,
  createServerTransaction,
  applyEvent,
  type CreateOptions,
  type ClientOptions,
  type ServerOptions,
} from './machine.js';
export { clientKey, serverKey, cancelledInviteKey } from './keys.js';
export { buildAckForNon2xx, buildCancel } from './ack.js';
export { serialise, deserialise, STATE_VERSION } from './state.js';
export { cloneJson } from './json.js';
export { RecentMap } from './recent-map.js';
export { TRANSITIONS, TRANSITION_IDS, type Transition } from './transitions.js';
export {
  DEFAULT_TIMERS,
  checkTimerSettings,
  initialDelay,
  nextInterval,
  type TimerName,
  type TimerSettings,
} from './timers.js';
export type {
  TransactionKind,
  TransactionStateName,
  TransactionState,
  TransactionEvent,
  TransactionAction,
  Step,
  Json,
  ArmedTimer,
} from './types.js';
