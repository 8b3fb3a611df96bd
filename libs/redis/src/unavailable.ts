/**
 * The one answer to "did this fail because Redis is unreachable or cannot serve right now?", for
 * every Redis user (the store's fail-fast commands, the timers' producer, BullMQ's error events,
 * the outage logger). True means: transient, retry later, report "unavailable"; false means the
 * command itself was wrong (a script error, WRONGTYPE, NOSCRIPT, a BullMQ job error…) and the
 * error is passed on as it is.
 */
export function isRedisUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; depth < 3 && e instanceof Error; e = e.cause, depth++) {
    if (unavailable(e)) return true;
  }
  return false;
}

/** Socket errors (Node's `error.code`, also found in ioredis' own messages such as "connect ETIMEDOUT"). */
const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
];

/**
 * Redis replies (the first word of a ReplyError) that mean "not now" rather than "wrong command":
 * a cluster without quorum or mid-resharding, a server loading its dataset, a replica or a master
 * demoted by a failover (READONLY), a master that lost its own master link or its replicas
 * (MASTERDOWN, NOREPLICAS), a full server (OOM: noeviction) and a server busy with a script.
 */
const UNAVAILABLE_REPLIES = new Set([
  'CLUSTERDOWN',
  'TRYAGAIN',
  'LOADING',
  'MASTERDOWN',
  'READONLY',
  'NOREPLICAS',
  'OOM',
  'BUSY',
]);

/**
 * Client-side failures raised by ioredis (single server, Sentinel and Cluster) and BullMQ when a
 * command cannot reach a ready server: matched as substrings of the message.
 */
const UNAVAILABLE_MESSAGES = [
  'Connection is closed', // ioredis and BullMQ's ConnectionClosedError
  'Connection is aborted',
  'Connection is discarded',
  'Command aborted due to connection close',
  "Stream isn't writeable", // enableOfflineQueue: false while disconnected
  'max retries per request', // MaxRetriesPerRequestError
  'Command timed out', // commandTimeout
  'Socket timeout', // socketTimeout
  'Ready check failed',
  'All sentinels are unreachable',
  'failed to connect to sentinel',
  "Cluster isn't ready",
  'Cluster is ended',
  'Cluster is disconnected',
  'Failed to refresh slots cache', // ClusterAllFailedError
  'None of startup nodes is available',
  'Too many Cluster redirections',
  ...NETWORK_CODES,
].map((text) => text.toLowerCase());

const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'ConnectionClosedError']);

function unavailable(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.includes(code)) return true;
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  const message = typeof error.message === 'string' ? error.message : '';
  if (UNAVAILABLE_REPLIES.has(message.split(' ', 1)[0]!)) return true;
  const lower = message.toLowerCase();
  return UNAVAILABLE_MESSAGES.some((text) => lower.includes(text));
}
