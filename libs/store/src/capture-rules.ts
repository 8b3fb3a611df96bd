import type { CaptureFacts, CapturedCall } from './ports.js';

/**
 * A captured call's summary before its first message: the rules capture-add.lua applies in Redis,
 * for the in-memory twin (the store contract holds both to them).
 */
export function newCapturedCall(callId: string, at: number): CapturedCall {
  return { callId, method: null, from: null, to: null, status: null, startedAt: at, lastAt: at, messages: 0 };
}

/**
 * The summary with one more message: the call's first request names it (method, From, To); a final
 * response to that method sets its status, a 2xx winning over any other final; the last message's
 * time is the latest seen.
 */
export function summarize(summary: CapturedCall, at: number, facts: CaptureFacts): CapturedCall {
  const first = summary.method === null && facts.method !== undefined;
  const method = first ? facts.method! : summary.method;
  const final = facts.status !== undefined && facts.status >= 200 && facts.cseqMethod === method;
  const answered = summary.status !== null && summary.status >= 200 && summary.status < 300;
  return {
    ...summary,
    method,
    from: first ? (facts.from ?? null) : summary.from,
    to: first ? (facts.to ?? null) : summary.to,
    status: final && !answered ? facts.status! : summary.status,
    lastAt: Math.max(summary.lastAt, at),
    messages: summary.messages + 1,
  };
}
