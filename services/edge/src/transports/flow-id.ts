import { randomBytes } from 'node:crypto';

/** Shared by every transport of the process, so that TCP and TLS flows never share a counter value. */
let counter = 0;

/**
 * A flow id unique across the cluster and across restarts: `f-<edgeId>-<counter>-<random>`. The
 * edge id names the owner, the counter orders flows within a process, and 32 random bits tell a
 * restarted edge's flows from those of its previous life.
 */
export function newFlowId(edgeId: string): string {
  counter += 1;
  return `f-${edgeId}-${counter}-${randomBytes(4).toString('hex')}`;
}
