import type { SipMessage } from '@sipedge/sip';
import type { InboundMeta, OutboundMeta } from './envelope.js';

/** A worker of this process: takes a message an edge received, parsed (resolves once it is taken). */
export interface LocalWorker {
  take(message: SipMessage, meta: InboundMeta): Promise<void>;
}

/** What an edge reports for a message it was asked to send (`LocalEdge.send`). */
export type LocalDelivery = { ok: true; flowId?: string } | { ok: false; error: string };

/** An edge of this process: sends what a worker asks it to. */
export interface LocalEdge {
  send(data: Buffer, meta: OutboundMeta): Promise<LocalDelivery>;
}

/**
 * An edge and a worker in one process (standalone mode) pass each other messages by a call
 * instead of over the bus: a received message goes to the worker as the edge parsed it (parsed
 * once, not serialised, copied and parsed again), and what the worker sends goes to the edge
 * without envelope headers. Each side uses the link only while the other is attached to it and
 * the bus otherwise, so a worker on a thread of its own, or an edge already stopped, is reached as
 * before. Every other subject (bans, keep-alives, edge departures) stays on the bus.
 */
export class LocalLink {
  #worker: LocalWorker | undefined;
  readonly #edges = new Map<string, LocalEdge>();

  /** The attached worker, if any. */
  get worker(): LocalWorker | undefined {
    return this.#worker;
  }

  /** Attaches the worker of this process; the returned function detaches it. */
  attachWorker(worker: LocalWorker): () => void {
    this.#worker = worker;
    return () => {
      if (this.#worker === worker) this.#worker = undefined;
    };
  }

  /** Attaches an edge of this process under its id; the returned function detaches it. */
  attachEdge(edgeId: string, edge: LocalEdge): () => void {
    this.#edges.set(edgeId, edge);
    return () => {
      if (this.#edges.get(edgeId) === edge) this.#edges.delete(edgeId);
    };
  }

  /** The attached edge of that id, or for `undefined` (any edge may send it) any attached edge. */
  edge(edgeId: string | undefined): LocalEdge | undefined {
    if (edgeId !== undefined) return this.#edges.get(edgeId);
    return this.#edges.values().next().value;
  }
}
