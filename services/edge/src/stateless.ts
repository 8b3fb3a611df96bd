import { type SelfConfig, isAddressedToSelf, isOurVia } from '@sipedge/proxy';
import type { SipParseError } from '@sipedge/sip';
import { ALLOW, type SipMessage } from '@sipedge/sip';

/** What the edge does with a message before any shared state is touched. */
export type Verdict =
  | { action: 'forward' }
  /** Answer at once, statelessly (§8.2.6 response built from the request's rows). */
  | { action: 'respond'; status: number; reason?: string; headers?: [string, string][] }
  | { action: 'drop'; reason: 'unparseable' | 'no-via' | 'not-our-via' | 'too-large' };

/**
 * A parse error's verdict: answer it when the request can be answered (400/501/505/513 with the
 * parser's reason phrase), otherwise drop it (no Via: nowhere to send; responses: never answered).
 */
export function verdictForError(error: SipParseError): Verdict {
  if (error.answerable && error.status !== undefined) {
    return { action: 'respond', status: error.status, reason: error.reason };
  }
  if (error.code === 'too-large') return { action: 'drop', reason: 'too-large' };
  return {
    action: 'drop',
    reason: error.code === 'missing-header' && error.header === 'Via' ? 'no-via' : 'unparseable',
  };
}

/**
 * Checks of a parsed message that need no shared state: a response must carry our Via on top
 * (§18.1.2, else it is dropped); a request with Max-Forwards 0 is answered 483 (§16.3 step 3),
 * or 200 with Allow when it is an OPTIONS addressed to the edge itself (§11).
 */
export function verdictForMessage(message: SipMessage, self: SelfConfig): Verdict {
  if (message.isResponse) {
    const via = message.topVia;
    return via !== undefined && isOurVia(via, self) ? { action: 'forward' } : { action: 'drop', reason: 'not-our-via' };
  }
  if (message.maxForwards === 0 && message.method !== 'ACK') {
    if (message.method === 'OPTIONS' && isAddressedToSelf(message, self)) {
      return { action: 'respond', status: 200, headers: [['Allow', ALLOW]] };
    }
    return { action: 'respond', status: 483 };
  }
  return { action: 'forward' };
}
