import { EnvReader } from '@sipedge/config';

/**
 * How an edge hands a message received over TCP, TLS or WebSocket to a worker: a NATS request that
 * the worker answers once it has taken the message over (its effects sent), sent again without an
 * answer within `ackTimeoutMs`, up to `attempts` times (services/edge/src/handoff.ts).
 */
export interface HandoffRetrySettings {
  ackTimeoutMs: number;
  attempts: number;
}

export const DEFAULT_HANDOFF_RETRY: HandoffRetrySettings = { ackTimeoutMs: 500, attempts: 3 };

export function handoffRetryFromEnv(environment: NodeJS.ProcessEnv): HandoffRetrySettings {
  const env = new EnvReader(environment);
  return {
    ackTimeoutMs: env.int('SIPEDGE_HANDOFF_ACK_TIMEOUT_MS', DEFAULT_HANDOFF_RETRY.ackTimeoutMs, 1),
    attempts: env.int('SIPEDGE_HANDOFF_ATTEMPTS', DEFAULT_HANDOFF_RETRY.attempts, 1),
  };
}

/**
 * How long after a worker finished with a message the edge may still hand it over again: a worker
 * that died after sending the message's effects but before answering the hand-off leaves the edge
 * waiting `ackTimeoutMs`, and each retry of a group without responders waits a quarter of it more.
 * A worker keeps a finished call record at least this long (plus a margin), so that such a retry
 * is recognised as the message it already handled, not taken for a new one (a second BYE or
 * INVITE to the callee).
 */
export function handoffReplayWindowMs(settings: HandoffRetrySettings): number {
  return Math.ceil(settings.attempts * settings.ackTimeoutMs * 1.25);
}
