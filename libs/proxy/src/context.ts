import { type SipMessage, parseMessage } from '@sipedge/sip';
import { chooseBest } from './best-response.js';
import { cloneJson } from '@sipedge/transaction';

/**
 * The response context of one proxied request (RFC 3261 §16.7–§16.10): which targets were tried,
 * what each fork answered, whether a final response went upstream, and CANCEL. A plain JSON
 * record, like the transactions, so that every event can be handled by a different worker. The
 * worker feeds it what its client transactions report and performs the actions it returns.
 */
export interface ProxyContext {
  v: 1;
  id: string;
  method: string;
  /** Targets in the order they are tried; `group` runs in parallel, groups one after another (§16.6). */
  targets: { uri: string; group: number }[];
  forks: Fork[];
  /** Next target group to start. */
  nextGroup: number;
  /** Final responses received on forks, kept for best-response selection (wire text, binary string). */
  finals: { fork: number; status: number; wire: string }[];
  /** A final response went upstream (a 2xx at once, or the chosen best one). */
  finalForwarded: boolean;
  /** CANCEL received, or a 6xx / 2xx seen: no new forks start (§16.7 step 10, §16.10). */
  stopped: boolean;
}

export interface Fork {
  index: number;
  target: string;
  /** Got a provisional response: a CANCEL may be sent for it (§9.1). */
  provisional: boolean;
  /** A CANCEL is wanted but waits for a provisional (§16.10). */
  cancelPending: boolean;
  cancelled: boolean;
  /** Final status (408 for a timeout, 503 for a transport error), or null while pending. */
  final: number | null;
}

export type ContextEvent =
  /** A fork's client transaction passed up a response. */
  | { type: 'response'; fork: number; message: SipMessage }
  /** A fork's client transaction timed out (Timer B/F, or Timer C without provisional): a 408 (§16.7 step 1, §16.8). */
  | { type: 'timeout'; fork: number }
  /** A fork's transport failed: a 503 (§16.9). */
  | { type: 'transport-error'; fork: number }
  /** Timer C fired after a provisional: CANCEL the fork (§16.8). */
  | { type: 'timer-c'; fork: number }
  /** The request was CANCELled upstream (§16.10). */
  | { type: 'cancel' };

export type ContextAction =
  /** Fork the request to a target (the worker builds it with forwardRequest and starts a client transaction). */
  | { type: 'start-fork'; fork: number; target: string }
  /**
   * Send this response received on a fork upstream on the server transaction (the worker removes
   * our Via, §16.7 step 3), with `addHeaders` appended (aggregated challenges, §16.7 step 7).
   */
  | { type: 'forward-response'; fork: number; message: SipMessage; addHeaders?: [string, string][] }
  /** Answer upstream with a response generated from the request (408, or 500 for a chosen 503). */
  | { type: 'respond'; status: number }
  /** Send a CANCEL for this fork (§9.1: same branch, R-URI, Call-ID, From, To, CSeq number). */
  | { type: 'cancel-fork'; fork: number }
  /** Every fork has a final response and the final response went upstream. */
  | { type: 'complete' };

export interface ContextStep {
  context: ProxyContext;
  actions: ContextAction[];
}

/** Orders targets for forking: by descending q, equal q in parallel (§16.6, §16.5 "q-value"). */
export function groupTargets(targets: readonly { uri: string; q: number }[]): { uri: string; group: number }[] {
  const qs = [...new Set(targets.map((t) => t.q))].sort((a, b) => b - a);
  return targets.map((t) => ({ uri: t.uri, group: qs.indexOf(t.q) })).sort((a, b) => a.group - b.group);
}

/** Creates the context and starts the first target group. */
export function startContext(id: string, method: string, targets: { uri: string; group: number }[]): ContextStep {
  const context: ProxyContext = {
    v: 1,
    id,
    method,
    targets,
    forks: [],
    nextGroup: 0,
    finals: [],
    finalForwarded: false,
    stopped: false,
  };
  const actions: ContextAction[] = [];
  startNextGroup(context, actions);
  return { context, actions };
}

/** Applies one event; the input context is not changed. */
export function applyContextEvent(input: ProxyContext, event: ContextEvent): ContextStep {
  const context: ProxyContext = cloneJson(input);
  const actions: ContextAction[] = [];
  switch (event.type) {
    case 'response':
      onResponse(context, event.fork, event.message, actions);
      break;
    case 'timeout':
      onFinal(context, event.fork, 408, null, actions);
      break;
    case 'transport-error':
      onFinal(context, event.fork, 503, null, actions);
      break;
    case 'timer-c':
      cancelFork(context, event.fork, actions);
      break;
    case 'cancel':
      // §16.10: CANCEL every pending fork; no new ones start. The forks' 487s come back as finals.
      context.stopped = true;
      for (const fork of context.forks) if (fork.final === null) cancelFork(context, fork.index, actions);
      break;
  }
  return { context, actions };
}

function onResponse(context: ProxyContext, index: number, message: SipMessage, actions: ContextAction[]): void {
  const fork = context.forks[index];
  if (fork === undefined) return;
  const status = message.status;
  if (status < 200) {
    if (status === 100) return; // §16.7 step 5: a 100 is never forwarded.
    fork.provisional = true;
    if (fork.cancelPending) {
      fork.cancelPending = false;
      fork.cancelled = true;
      actions.push({ type: 'cancel-fork', fork: index });
    }
    // §16.7 step 5: provisionals go upstream until a final response has.
    if (!context.finalForwarded) actions.push({ type: 'forward-response', fork: index, message });
    return;
  }
  if (status < 300) {
    // §16.7 step 5: every 2xx to an INVITE is forwarded at once, even after another final one.
    fork.final ??= status;
    if (!context.finalForwarded || context.method === 'INVITE') {
      actions.push({ type: 'forward-response', fork: index, message });
    }
    context.finalForwarded = true;
    // §16.7 step 10: a final response went upstream: CANCEL the forks still pending.
    stopAndCancelOthers(context, index, actions);
    finishIfDone(context, actions);
    return;
  }
  onFinal(context, index, status, message, actions);
}

function onFinal(
  context: ProxyContext,
  index: number,
  status: number,
  message: SipMessage | null,
  actions: ContextAction[],
): void {
  const fork = context.forks[index];
  if (fork === undefined || fork.final !== null) return;
  fork.final = status;
  fork.cancelPending = false;
  if (message !== null) context.finals.push({ fork: index, status, wire: message.toBuffer().toString('latin1') });
  else context.finals.push({ fork: index, status, wire: '' });
  // §16.7 step 5 and 10: a 6xx ends the search: CANCEL the rest, start nothing new.
  if (status >= 600) stopAndCancelOthers(context, index, actions);
  if (context.forks.some((f) => f.final === null)) return;
  // Sequential forking (§16.6): the next target group when this one has failed.
  if (!context.stopped && !context.finalForwarded && context.nextGroup <= maxGroup(context)) {
    startNextGroup(context, actions);
    return;
  }
  finishIfDone(context, actions);
}

/** §16.7 step 6–7: all forks are done and nothing final went upstream: send the best response. */
function finishIfDone(context: ProxyContext, actions: ContextAction[]): void {
  if (context.forks.some((f) => f.final === null)) return;
  if (!context.finalForwarded) {
    context.finalForwarded = true;
    const received = context.finals.map((f) => ({
      status: f.status,
      message: f.wire === '' ? null : parseMessage(Buffer.from(f.wire, 'latin1')),
    }));
    const choice = chooseBest(received);
    if (choice.kind === 'generate') actions.push({ type: 'respond', status: choice.status });
    else {
      actions.push({
        type: 'forward-response',
        fork: context.finals[choice.index]!.fork,
        message: received[choice.index]!.message!,
        addHeaders: choice.addHeaders,
      });
    }
  }
  actions.push({ type: 'complete' });
}

function stopAndCancelOthers(context: ProxyContext, except: number, actions: ContextAction[]): void {
  context.stopped = true;
  for (const fork of context.forks)
    if (fork.index !== except && fork.final === null) cancelFork(context, fork.index, actions);
}

/** A CANCEL goes out only after a provisional (§9.1); until then it waits (§16.10). */
function cancelFork(context: ProxyContext, index: number, actions: ContextAction[]): void {
  const fork = context.forks[index];
  if (fork === undefined || fork.cancelled || fork.final !== null) return;
  if (fork.provisional) {
    fork.cancelled = true;
    actions.push({ type: 'cancel-fork', fork: index });
  } else {
    fork.cancelPending = true;
  }
}

function maxGroup(context: ProxyContext): number {
  return Math.max(-1, ...context.targets.map((t) => t.group));
}

function startNextGroup(context: ProxyContext, actions: ContextAction[]): void {
  const group = context.nextGroup++;
  for (const target of context.targets.filter((t) => t.group === group)) {
    const index = context.forks.length;
    context.forks.push({
      index,
      target: target.uri,
      provisional: false,
      cancelPending: false,
      cancelled: false,
      final: null,
    });
    actions.push({ type: 'start-fork', fork: index, target: target.uri });
  }
}
