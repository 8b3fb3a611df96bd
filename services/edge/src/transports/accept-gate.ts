import type { Socket } from 'node:net';
import type { ConnectionLimit } from './connection-limit.js';

/** Why an accepted connection is refused before any other work. */
export type GateRefusal = 'banned' | 'per-source-limit' | 'total-limit';

export interface AcceptGateOptions {
  /** Accepted connections at once from one source address. */
  maxPerSource: number;
  /** The process's connections, shared by its stream and WebSocket transports. */
  connections: ConnectionLimit;
  /** Sources refused at once (the fleet's bans). */
  isBanned?: (address: string) => boolean;
}

/**
 * What an accepted connection passes before a byte of it is read: the fleet's bans, the limit per
 * source address and the process's total. A connection admitted holds its places until its socket
 * closes. The source may be counted later than the socket (`countSource`): a WebSocket connection
 * from a trusted proxy is counted under the client address its upgrade request names.
 */
export class AcceptGate {
  readonly #perSource = new Map<string, number>();

  constructor(private readonly options: AcceptGateOptions) {}

  get maxPerSource(): number {
    return this.options.maxPerSource;
  }

  /**
   * Admits `raw` from `source` (counted under it unless `countSource` is false), or says why not
   * (the caller destroys the socket).
   */
  admit(raw: Socket, source: string, countSource = true): GateRefusal | undefined {
    const refusal = this.#check(source, countSource);
    if (refusal !== undefined) return refusal;
    if (!this.options.connections.acquire()) return 'total-limit';
    raw.once('close', () => this.options.connections.release());
    if (countSource) this.#count(raw, source);
    return undefined;
  }

  /** Counts an admitted connection under another source address (bans and its per-source limit apply). */
  countSource(raw: Socket, source: string): GateRefusal | undefined {
    const refusal = this.#check(source, true);
    if (refusal === undefined) this.#count(raw, source);
    return refusal;
  }

  #check(source: string, countSource: boolean): GateRefusal | undefined {
    if (this.options.isBanned?.(source) === true) return 'banned';
    if (countSource && (this.#perSource.get(source) ?? 0) >= this.options.maxPerSource) return 'per-source-limit';
    return undefined;
  }

  #count(raw: Socket, source: string): void {
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    raw.once('close', () => {
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left > 0) this.#perSource.set(source, left);
      else this.#perSource.delete(source);
    });
  }
}
