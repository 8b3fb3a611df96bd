import type { SipMessage } from '@sipedge/sip';
import type { Draft } from './draft.js';
import { nextInterval } from './timers.js';
import type { TransactionEvent } from './types.js';

const wireOf = (message: SipMessage) => message.toBuffer().toString('latin1');

/** INVITE server transaction: RFC 3261 §17.2.1, Figure 7, as updated by RFC 6026 §8. */
export function inviteServer(d: Draft, event: TransactionEvent): void {
  const s = d.state;
  switch (event.type) {
    case 'request': {
      const isAck = event.message.method === 'ACK';
      if (s.state === 'proceeding' && !isAck) {
        d.take('ist:proceeding:request');
        if (s.response !== null) d.send(s.response, 'response');
        return;
      }
      if (s.state === 'completed' && !isAck) {
        d.take('ist:completed:request');
        return d.send(s.response ?? '', 'response');
      }
      if (s.state === 'completed' && isAck) {
        d.take('ist:completed:ack');
        d.cancel('G');
        d.cancel('H');
        d.go('confirmed');
        return d.start('I');
      }
      if (s.state === 'confirmed' && isAck) return d.take('ist:confirmed:ack');
      if (s.state === 'accepted') {
        // RFC 6026 §8.5: INVITE retransmissions are absorbed; ACKs for the 2xx go to the TU.
        d.take(isAck ? 'ist:accepted:ack' : 'ist:accepted:request');
        if (isAck) d.toTu(event.message);
        return;
      }
      return d.take('any:ignored');
    }
    case 'send-response': {
      const status = event.message.status;
      if (s.state === 'proceeding') {
        s.response = wireOf(event.message);
        d.send(s.response, 'response');
        if (status < 200) return d.take('ist:proceeding:send-1xx');
        if (status < 300) {
          // RFC 6026 §8.5: Accepted absorbs INVITE retransmissions, never answers them: nothing to keep.
          s.response = null;
          d.take('ist:proceeding:send-2xx');
          d.go('accepted');
          return d.start('L');
        }
        d.take('ist:proceeding:send-300-699');
        d.go('completed');
        d.start('G');
        return d.start('H');
      }
      if (s.state === 'accepted' && status >= 200 && status < 300) {
        d.take('ist:accepted:send-2xx');
        return d.send(wireOf(event.message), 'response');
      }
      return d.take('any:ignored');
    }
    case 'timer':
      if (s.state === 'completed' && event.timer === 'G') {
        d.take('ist:completed:timer-G');
        d.send(s.response ?? '', 'response');
        return d.start('G', nextInterval('G', d.fired('G'), d.settings));
      }
      if (s.state === 'completed' && event.timer === 'H') return d.timeout('ist:completed:timer-H', 'H');
      if (s.state === 'confirmed' && event.timer === 'I') return d.expire('ist:confirmed:timer-I', 'I');
      if (s.state === 'accepted' && event.timer === 'L') return d.expire('ist:accepted:timer-L', 'L');
      return d.ignoreTimer(event.timer);
    case 'transport-error':
      if (s.state === 'accepted') {
        d.take('ist:accepted:transport-error');
        return d.report({ type: 'transport-error' });
      }
      if (s.state === 'proceeding' || s.state === 'completed')
        return d.transportError(`ist:${s.state}:transport-error`);
      return d.take('any:ignored');
    default:
      return d.take('any:ignored');
  }
}

/** Non-INVITE server transaction: RFC 3261 §17.2.2, Figure 8, with RFC 4320 §4.1. */
export function nonInviteServer(d: Draft, event: TransactionEvent, now: number): void {
  const s = d.state;
  switch (event.type) {
    case 'request':
      if (s.state === 'trying') return d.take('nist:trying:request');
      if (s.state === 'proceeding' || s.state === 'completed') {
        d.take(`nist:${s.state}:request`);
        return d.send(s.response ?? '', 'response');
      }
      return d.take('any:ignored');
    case 'send-response': {
      const status = event.message.status;
      if (s.state === 'completed') return d.take('nist:completed:send-response');
      if (s.state !== 'trying' && s.state !== 'proceeding') return d.take('any:ignored');
      if (status < 200) {
        if (s.state === 'trying' && provisionalSuppressed(d, status, now)) {
          return d.take('nist:trying:send-1xx-suppressed');
        }
        if (status !== 100 && s.state === 'proceeding') return d.take('any:ignored');
        d.take(`nist:${s.state}:send-1xx`);
        s.response = wireOf(event.message);
        d.send(s.response, 'response');
        return d.go('proceeding');
      }
      d.take(`nist:${s.state}:send-200-699`);
      s.response = wireOf(event.message);
      d.send(s.response, 'response');
      d.go('completed');
      return d.start('J');
    }
    case 'timer':
      if (s.state === 'completed' && event.timer === 'J') return d.expire('nist:completed:timer-J', 'J');
      return d.ignoreTimer(event.timer);
    case 'transport-error':
      if (s.state === 'proceeding' || s.state === 'completed')
        return d.transportError(`nist:${s.state}:transport-error`);
      return d.take('any:ignored');
    default:
      return d.take('any:ignored');
  }
}

/**
 * RFC 4320 §4.1: no provisional other than 100 to a non-INVITE request, and no 100 over an
 * unreliable transport before the client's Timer E has reached T2.
 */
function provisionalSuppressed(d: Draft, status: number, now: number): boolean {
  if (status !== 100) return true;
  return !d.state.reliable && now - d.state.createdAt < d.settings.t2;
}
