/**
 * NATS subjects between edges and workers.
 *
 * | subject | queue group | direction | payload |
 * |---|---|---|---|
 * | `sipedge.in` | `workers` | edge → one worker | a received SIP message (request over TCP/TLS: NATS request, the worker acknowledges) |
 * | `sipedge.worker.<instance>.in` | — | edge → that worker | as `sipedge.in`, for the worker a call's messages go to (call affinity) |
 * | `sipedge.workers.alive` | — | worker → every edge | the worker's instance id, every WORKER_PRESENCE.heartbeatMs |
 * | `sipedge.workers.gone` | — | worker → every edge | the worker's instance id, as it stops: hand it nothing more |
 * | `sipedge.workers.load` | — | worker → every edge | `<instance> <backlog ms>` while the worker is saturated (`WORKER_LOAD`) |
 * | `sipedge.edge.<edgeId>.out` | — | worker → that edge | a message to send on a flow the edge holds, or from the edge that received the trigger |
 * | `sipedge.out` | `edges` | worker → any edge | a message any live edge may send |
 * | `sipedge.edge.<edgeId>.keepalive` | — | worker → that edge | a registration behind a NAT to keep open (JSON `KeepaliveTarget`) |
 * | `sipedge.edges.gone` | — | edge → every worker | the edge's id, as it stops: it sends nothing more, use another edge |
 *
 * The payload is the raw SIP bytes, metadata in NATS headers (see `headers.ts`), but for the
 * keep-alive, alive, gone and load subjects.
 */
export const SUBJECTS = {
  inbound: 'sipedge.in',
  edgeOutbound: (edgeId: string) => `sipedge.edge.${edgeId}.out`,
  anyEdgeOutbound: 'sipedge.out',
  edgeKeepalive: (edgeId: string) => `sipedge.edge.${edgeId}.keepalive`,
  edgeGone: 'sipedge.edges.gone',
  workerInbound: (instance: string) => `sipedge.worker.${instance}.in`,
  workersAlive: 'sipedge.workers.alive',
  workerGone: 'sipedge.workers.gone',
  workersLoad: 'sipedge.workers.load',
} as const;

/**
 * How workers tell edges they are alive: an announcement every `heartbeatMs`; an edge forgets a
 * worker it has not heard for `expiresMs` (three heartbeats and some slack for a busy event loop).
 */
export const WORKER_PRESENCE = {
  heartbeatMs: 1000,
  expiresMs: 3500,
} as const;

/**
 * How a saturated worker tells edges to refuse new calls for it (overload control, overload.ts):
 * while it judges a backlog (its hand-offs wait past the overload limit), it reports how long they
 * wait every `reportMs`, and once more with 0 when they stop waiting; an edge sheds the new calls
 * bound to it in proportion, before they cost a hand-off, and takes a report older than
 * `expiresMs` as 0 (a worker that stopped reporting is no reason to refuse calls). While another
 * worker has reported no backlog for `calmMs`, the new calls bound to the saturated one go to it
 * instead: one that reported lately is near its own limit (its reports come only after its backlog
 * has stood for a window), and moving calls to it would make the two take turns at overload.
 */
export const WORKER_LOAD = {
  reportMs: 100,
  expiresMs: 500,
  calmMs: 5000,
} as const;

/** A load report's payload: the worker's instance id and its backlog (ms). */
export function encodeWorkerLoad(instance: string, backlogMs: number): Buffer {
  return Buffer.from(`${instance} ${Math.max(0, Math.round(backlogMs))}`, 'latin1');
}

/** A load report's instance id and backlog, or undefined when the payload is not one. */
export function decodeWorkerLoad(payload: Uint8Array): { instance: string; backlogMs: number } | undefined {
  const [instance, backlog, ...rest] = Buffer.from(payload).toString('latin1').split(' ');
  if (rest.length > 0 || instance === undefined || !isSubjectToken(instance)) return undefined;
  if (backlog === undefined || !/^\d{1,9}$/.test(backlog)) return undefined;
  return { instance, backlogMs: Number(backlog) };
}

/**
 * A registration behind a NAT (RFC 5626 §4.4, Kamailio's nathelper pings) that the edge which
 * received it keeps open until `until` (epoch ms): keep-alives to `destination`, and when the
 * contact stops answering, its bindings (`contacts`, contact keys of `aor`) are removed.
 */
export interface KeepaliveTarget {
  destination: { address: string; port: number };
  until: number;
  aor: string;
  contacts: string[];
}

export const QUEUES = {
  workers: 'workers',
  edges: 'edges',
} as const;

/** Whether a text can be a subject token of ours (an edge id, a worker instance id). */
export function isSubjectToken(text: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(text);
}

/** Edge ids become subject tokens: letters, digits, '-' and '_' only. */
export function checkEdgeId(edgeId: string): string {
  if (!isSubjectToken(edgeId)) {
    throw new RangeError(`edge id: expected 1–64 of A–Z a–z 0–9 _ -, got "${edgeId}"`);
  }
  return edgeId;
}
