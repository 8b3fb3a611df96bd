/**
 * NATS subjects between edges and workers.
 *
 * | subject | queue group | direction | payload |
 * |---|---|---|---|
 * | `sipedge.in` | `workers` | edge → one worker | a received SIP message (request over TCP/TLS: NATS request, the worker acknowledges) |
 * | `sipedge.edge.<edgeId>.out` | — | worker → that edge | a message to send on a flow the edge holds, or from the edge that received the trigger |
 * | `sipedge.out` | `edges` | worker → any edge | a message any live edge may send |
 *
 * The payload is always the raw SIP bytes; metadata travels in NATS headers (see `headers.ts`).
 */
export const SUBJECTS = {
  inbound: 'sipedge.in',
  edgeOutbound: (edgeId: string) => `sipedge.edge.${edgeId}.out`,
  anyEdgeOutbound: 'sipedge.out',
} as const;

export const QUEUES = {
  workers: 'workers',
  edges: 'edges',
} as const;

/** Edge ids become subject tokens: letters, digits, '-' and '_' only. */
export function checkEdgeId(edgeId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(edgeId)) {
    throw new RangeError(`edge id: expected 1–64 of A–Z a–z 0–9 _ -, got "${edgeId}"`);
  }
  return edgeId;
}
