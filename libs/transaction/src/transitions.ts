import type { TransactionKind, TransactionStateName } from './types.js';

/** One arrow of RFC 3261 Figures 5–8 as updated by RFC 6026 (and RFC 4320, §16.8 Timer C). */
export interface Transition {
  id: string;
  kind: TransactionKind | 'any';
  from: TransactionStateName | 'start' | 'any';
  to: TransactionStateName | 'same';
  rfc: string;
}

const t = (id: string, from: Transition['from'], to: Transition['to'], rfc: string): Transition => ({
  id,
  kind: id.split(':')[0] as Transition['kind'],
  from,
  to,
  rfc,
});

/**
 * Every transition the machines take, by id. The machines only take transitions listed here, and a
 * test checks that each one is exercised.
 */
export const TRANSITIONS: readonly Transition[] = [
  // INVITE client transaction: RFC 3261 Figure 5, RFC 6026 Figure 3, Timer C from §16.8.
  t('ict:start', 'start', 'calling', '§17.1.1.2'),
  t('ict:calling:timer-A', 'calling', 'same', '§17.1.1.2'),
  t('ict:calling:timer-B', 'calling', 'terminated', '§17.1.1.2'),
  t('ict:calling:1xx', 'calling', 'proceeding', '§17.1.1.2'),
  t('ict:calling:2xx', 'calling', 'accepted', 'RFC 6026 §7.2'),
  t('ict:calling:300-699', 'calling', 'completed', '§17.1.1.2'),
  t('ict:calling:transport-error', 'calling', 'terminated', '§17.1.4'),
  t('ict:calling:timer-C', 'calling', 'terminated', '§16.8 (as if 408)'),
  t('ict:proceeding:1xx', 'proceeding', 'same', '§17.1.1.2, §16.7 step 2 (Timer C reset)'),
  t('ict:proceeding:2xx', 'proceeding', 'accepted', 'RFC 6026 §7.2'),
  t('ict:proceeding:300-699', 'proceeding', 'completed', '§17.1.1.2'),
  t('ict:proceeding:timer-C', 'proceeding', 'same', '§16.8 (CANCEL the branch)'),
  t('ict:proceeding:timer-C-again', 'proceeding', 'terminated', '§16.8 (no final response after CANCEL)'),
  t('ict:completed:300-699', 'completed', 'same', '§17.1.1.2 (ACK retransmitted)'),
  t('ict:completed:transport-error', 'completed', 'terminated', '§17.1.1.2'),
  t('ict:completed:timer-D', 'completed', 'terminated', '§17.1.1.2'),
  t('ict:accepted:2xx', 'accepted', 'same', 'RFC 6026 §7.2 (2xx to TU)'),
  t('ict:accepted:timer-M', 'accepted', 'terminated', 'RFC 6026 §7.2'),
  // Non-INVITE client transaction: RFC 3261 Figure 6.
  t('nict:start', 'start', 'trying', '§17.1.2.2'),
  t('nict:trying:timer-E', 'trying', 'same', '§17.1.2.2'),
  t('nict:trying:timer-F', 'trying', 'terminated', '§17.1.2.2'),
  t('nict:trying:transport-error', 'trying', 'terminated', '§17.1.4'),
  t('nict:trying:1xx', 'trying', 'proceeding', '§17.1.2.2'),
  t('nict:trying:200-699', 'trying', 'completed', '§17.1.2.2'),
  t('nict:proceeding:timer-E', 'proceeding', 'same', '§17.1.2.2 (interval T2)'),
  t('nict:proceeding:timer-F', 'proceeding', 'terminated', '§17.1.2.2'),
  t('nict:proceeding:transport-error', 'proceeding', 'terminated', '§17.1.4'),
  t('nict:proceeding:1xx', 'proceeding', 'same', '§17.1.2.2'),
  t('nict:proceeding:200-699', 'proceeding', 'completed', '§17.1.2.2'),
  t('nict:completed:response', 'completed', 'same', '§17.1.2.2 (retransmission absorbed)'),
  t('nict:completed:timer-K', 'completed', 'terminated', '§17.1.2.2'),
  // INVITE server transaction: RFC 3261 Figure 7, RFC 6026 Figure 5.
  t('ist:start', 'start', 'proceeding', '§17.2.1'),
  t('ist:proceeding:request', 'proceeding', 'same', '§17.2.1 (last provisional re-sent)'),
  t('ist:proceeding:send-1xx', 'proceeding', 'same', '§17.2.1'),
  t('ist:proceeding:send-2xx', 'proceeding', 'accepted', 'RFC 6026 §8.5'),
  t('ist:proceeding:send-300-699', 'proceeding', 'completed', '§17.2.1'),
  t('ist:proceeding:transport-error', 'proceeding', 'terminated', '§17.2.4'),
  t('ist:completed:request', 'completed', 'same', '§17.2.1 (final response re-sent)'),
  t('ist:completed:timer-G', 'completed', 'same', '§17.2.1'),
  t('ist:completed:timer-H', 'completed', 'terminated', '§17.2.1'),
  t('ist:completed:ack', 'completed', 'confirmed', '§17.2.1'),
  t('ist:completed:transport-error', 'completed', 'terminated', '§17.2.4'),
  t('ist:confirmed:ack', 'confirmed', 'same', '§17.2.1 (absorbed)'),
  t('ist:confirmed:timer-I', 'confirmed', 'terminated', '§17.2.1'),
  t('ist:accepted:request', 'accepted', 'same', 'RFC 6026 §8.5 (INVITE absorbed)'),
  t('ist:accepted:send-2xx', 'accepted', 'same', 'RFC 6026 §8.5'),
  t('ist:accepted:ack', 'accepted', 'same', 'RFC 6026 §8.5 (ACK to TU)'),
  t('ist:accepted:transport-error', 'accepted', 'same', 'RFC 6026 §8.5 (TU informed)'),
  t('ist:accepted:timer-L', 'accepted', 'terminated', 'RFC 6026 §8.5'),
  // Non-INVITE server transaction: RFC 3261 Figure 8, RFC 4320 §4.1.
  t('nist:start', 'start', 'trying', '§17.2.2'),
  t('nist:trying:request', 'trying', 'same', '§17.2.2 (absorbed)'),
  t('nist:trying:send-1xx', 'trying', 'proceeding', '§17.2.2'),
  t('nist:trying:send-1xx-suppressed', 'trying', 'same', 'RFC 4320 §4.1'),
  t('nist:trying:send-200-699', 'trying', 'completed', '§17.2.2'),
  t('nist:proceeding:request', 'proceeding', 'same', '§17.2.2 (last provisional re-sent)'),
  t('nist:proceeding:send-1xx', 'proceeding', 'same', '§17.2.2'),
  t('nist:proceeding:send-200-699', 'proceeding', 'completed', '§17.2.2'),
  t('nist:proceeding:transport-error', 'proceeding', 'terminated', '§17.2.4'),
  t('nist:completed:request', 'completed', 'same', '§17.2.2 (final response re-sent)'),
  t('nist:completed:send-response', 'completed', 'same', '§17.2.2 (discarded)'),
  t('nist:completed:transport-error', 'completed', 'terminated', '§17.2.4'),
  t('nist:completed:timer-J', 'completed', 'terminated', '§17.2.2'),
  // Any machine.
  t('any:stale-timer', 'any', 'same', 'a fire of a timer that is no longer armed'),
  t('any:ignored', 'any', 'same', 'an event the current state does not take (e.g. a 1xx in Completed)'),
];

export const TRANSITION_IDS: ReadonlySet<string> = new Set(TRANSITIONS.map((x) => x.id));
