import { type SipMessage, parseMessage } from '@sipedge/sip';
import { buildAckForNon2xx } from './ack.js';
import type { Draft } from './draft.js';
import { type TimerName, nextInterval } from './timers.js';
import type { TransactionEvent } from './types.js';

const wireOf = (message: SipMessage) => message.toBuffer().toString('latin1');

/** INVITE client transaction: RFC 3261 §17.1.1, Figure 5, as updated by RFC 6026 §7.2; Timer C per §16.8. */
export function inviteClient(d: Draft, event: TransactionEvent): void {
  const s = d.state;
  switch (event.type) {
    case 'timer':
      return inviteClientTimer(d, event.timer);
    case 'transport-error':
      if (s.state === 'calling' || s.state === 'completed') return d.transportError(`ict:${s.state}:transport-error`);
      return d.take('any:ignored');
    case 'response':
      return inviteClientResponse(d, event.message);
    default:
      return d.take('any:ignored');
  }
}

function inviteClientResponse(d: Draft, response: SipMessage): void {
  const s = d.state;
  const status = response.status;
  if (s.state === 'calling' || s.state === 'proceeding') {
    if (status < 200) {
      d.take(`ict:${s.state}:1xx`);
      // Retransmissions stop and Timer B no longer applies once a provisional arrives (§17.1.1.2).
      d.cancel('A');
      d.cancel('B');
      // §16.7 step 2: a 101–199 resets Timer C; a 100 does not.
      if (status > 100 && s.timers.C !== undefined) d.start('C');
      if (status > 100) s.provisional = true;
      d.go('proceeding');
      return d.toTu(response);
    }
    d.cancel('A');
    d.cancel('B');
    d.cancel('C');
    if (status < 300) {
      d.take(`ict:${s.state}:2xx`);
      d.go('accepted');
      d.start('M');
      return d.toTu(response);
    }
    d.take(`ict:${s.state}:300-699`);
    const ack = wireOf(buildAckForNon2xx(parseMessage(Buffer.from(s.request, 'latin1')), response));
    s.ack = ack;
    d.send(ack, 'ack');
    d.go('completed');
    d.start('D');
    return d.toTu(response);
  }
  if (s.state === 'completed' && status >= 300) {
    d.take('ict:completed:300-699');
    return d.send(s.ack ?? '', 'ack');
  }
  if (s.state === 'accepted' && status >= 200 && status < 300) {
    d.take('ict:accepted:2xx');
    return d.toTu(response);
  }
  d.take('any:ignored');
}

function inviteClientTimer(d: Draft, timer: TimerName): void {
  const s = d.state;
  if (s.state === 'calling' && timer === 'A') {
    d.take('ict:calling:timer-A');
    d.send(s.request, 'request');
    return d.start('A', nextInterval('A', d.fired('A'), d.settings));
  }
  if (s.state === 'calling' && timer === 'B') return d.timeout('ict:calling:timer-B', 'B');
  if (timer === 'C' && s.state === 'calling') return d.timeout('ict:calling:timer-C', 'C');
  if (timer === 'C' && s.state === 'proceeding') {
    if (s.cancelRequested) return d.timeout('ict:proceeding:timer-C-again', 'C');
    // §16.8: after a provisional the proxy CANCELs the branch; Timer C is restarted so that a
    // downstream that never answers the CANCEL still ends the transaction.
    d.fired('C');
    d.take('ict:proceeding:timer-C');
    s.cancelRequested = true;
    d.report({ type: 'cancel-branch' });
    return d.start('C', 64 * d.settings.t1);
  }
  if (s.state === 'completed' && timer === 'D') return d.expire('ict:completed:timer-D', 'D');
  if (s.state === 'accepted' && timer === 'M') return d.expire('ict:accepted:timer-M', 'M');
  d.ignoreTimer(timer);
}

/** Non-INVITE client transaction: RFC 3261 §17.1.2, Figure 6. */
export function nonInviteClient(d: Draft, event: TransactionEvent): void {
  const s = d.state;
  const live = s.state === 'trying' || s.state === 'proceeding';
  switch (event.type) {
    case 'timer':
      if (live && event.timer === 'E') {
        d.take(`nict:${s.state}:timer-E`);
        const interval = d.fired('E');
        d.send(s.request, 'request');
        // §17.1.2.2: in Proceeding retransmissions go out every T2.
        return d.start('E', s.state === 'proceeding' ? d.settings.t2 : nextInterval('E', interval, d.settings));
      }
      if (live && event.timer === 'F') return d.timeout(`nict:${s.state}:timer-F`, 'F');
      if (s.state === 'completed' && event.timer === 'K') return d.expire('nict:completed:timer-K', 'K');
      return d.ignoreTimer(event.timer);
    case 'transport-error':
      if (!live) return d.take('any:ignored');
      return d.transportError(`nict:${s.state}:transport-error`);
    case 'response': {
      const status = event.message.status;
      if (live && status < 200) {
        d.take(`nict:${s.state}:1xx`);
        d.go('proceeding');
        return d.toTu(event.message);
      }
      if (live) {
        d.take(`nict:${s.state}:200-699`);
        d.cancel('E');
        d.cancel('F');
        d.go('completed');
        d.start('K');
        return d.toTu(event.message);
      }
      if (s.state === 'completed') return d.take('nict:completed:response');
      return d.take('any:ignored');
    }
    default:
      return d.take('any:ignored');
  }
}
