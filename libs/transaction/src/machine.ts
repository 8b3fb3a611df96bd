import { type SipMessage, buildResponse } from '@sipedge/sip';
import { inviteClient, nonInviteClient } from './client.js';
import { Draft } from './draft.js';
import { clientKey, serverKey } from './keys.js';
import { inviteServer, nonInviteServer } from './server.js';
import { DEFAULT_TIMERS, type TimerSettings } from './timers.js';
import type { Json, Step, TransactionEvent, TransactionState } from './types.js';

export interface CreateOptions {
  /** Reliable transport (TCP, TLS, SCTP, WS): no retransmission timers, zero D/I/J/K. */
  reliable: boolean;
  /** Caller data stored with the record (e.g. the destination of a client transaction). */
  data?: Json;
  settings?: TimerSettings;
}

export interface ClientOptions extends CreateOptions {
  /** INVITE only: run the proxy's Timer C (§16.6 step 11). */
  timerC?: boolean;
}

export interface ServerOptions extends CreateOptions {
  /** INVITE only: answer 100 (Trying) at once (§16.2, §17.2.1). Default true. */
  sendTrying?: boolean;
}

/** Each side's transaction kinds: INVITE, then non-INVITE. */
const KINDS = { client: ['ict', 'nict'], server: ['ist', 'nist'] } as const;

/**
 * The draft of a new transaction for `request` on one side, having taken its `start` transition:
 * ict/ist for INVITE, nict/nist otherwise. ACK never creates a transaction (§17.1, §17.2).
 */
function open(
  side: 'client' | 'server',
  request: SipMessage,
  options: CreateOptions,
  now: number,
): { d: Draft; invite: boolean } {
  const section = side === 'client' ? '§17.1' : '§17.2';
  if (request.method === 'ACK') throw new TypeError(`ACK does not create a ${side} transaction (${section})`);
  const invite = request.method === 'INVITE';
  const kind = KINDS[side][invite ? 0 : 1];
  const state: TransactionState = {
    v: 1,
    kind,
    state: 'terminated',
    key: side === 'client' ? clientKey(request) : serverKey(request),
    reliable: options.reliable,
    request: request.toBuffer().toString('latin1'),
    response: null,
    ack: null,
    provisional: false,
    cancelRequested: false,
    timers: {},
    gen: 0,
    createdAt: now,
    updatedAt: now,
    data: options.data ?? null,
  };
  const d = new Draft(state, options.settings ?? DEFAULT_TIMERS, now);
  d.take(`${kind}:start`);
  return { d, invite };
}

/**
 * Starts a client transaction for a request the TU sends (§17.1): the request goes out and the
 * timers start. ACK is never sent through a client transaction (§17.1).
 */
export function createClientTransaction(request: SipMessage, options: ClientOptions, now: number): Step {
  const { d, invite } = open('client', request, options, now);
  d.go(invite ? 'calling' : 'trying');
  d.send(d.state.request, 'request');
  d.start(invite ? 'A' : 'E');
  d.start(invite ? 'B' : 'F');
  if (invite && options.timerC === true) d.start('C');
  return settle(d, now);
}

/**
 * Starts a server transaction for a request received (§17.2): the request is passed to the TU and,
 * for INVITE, a 100 (Trying) is sent at once unless `sendTrying` is false.
 */
export function createServerTransaction(request: SipMessage, options: ServerOptions, now: number): Step {
  const { d, invite } = open('server', request, options, now);
  d.go(invite ? 'proceeding' : 'trying');
  d.toTu(request);
  if (invite && options.sendTrying !== false) {
    d.state.response = buildResponse(request, 100).toBuffer().toString('latin1');
    d.send(d.state.response, 'response');
  }
  return settle(d, now);
}

/**
 * Applies one event: `(state, event, now) → { state, actions }`. Pure: the input state is not
 * changed, and nothing is sent or scheduled; the caller commits the state, then performs the actions.
 */
export function applyEvent(
  state: TransactionState,
  event: TransactionEvent,
  now: number,
  settings: TimerSettings = DEFAULT_TIMERS,
): Step {
  const d = new Draft(state, settings, now);
  dispatch(d, event, now);
  return settle(d, now);
}

function dispatch(d: Draft, event: TransactionEvent, now: number): void {
  if (d.state.state === 'terminated') return d.take('any:ignored');
  if (event.type === 'timer' && d.state.timers[event.timer]?.gen !== event.generation) return d.take('any:stale-timer');
  switch (d.state.kind) {
    case 'ict':
      return inviteClient(d, event);
    case 'nict':
      return nonInviteClient(d, event);
    case 'ist':
      return inviteServer(d, event);
    case 'nist':
      return nonInviteServer(d, event, now);
  }
}

/** Fires the zero-delay timers of reliable transports (D, I, J, K) within the same step. */
function settle(d: Draft, now: number): Step {
  for (let due = d.dueNow.shift(); due !== undefined; due = d.dueNow.shift()) {
    dispatch(d, { type: 'timer', timer: due.timer, generation: due.generation }, now);
  }
  return d.result();
}
