import type { Logger } from '@sipedge/telemetry';
import { BusRemoteError, type BusError, type BusHandler, type BusHeaders, type BusMessage } from './port.js';

/**
 * Reply header that carries a responder's error message back to the requester (BusRemoteError).
 * Reserved: a reply that has it is an error reply, whatever its data.
 */
export const ERROR_HEADER = 'sipedge-error';

/** Longest error message sent back in ERROR_HEADER (a header is no place for a stack dump). */
const MAX_ERROR_TEXT = 1000;

const EMPTY = new Uint8Array(0);

/** What a handler sends back for a request. */
export interface Reply {
  data: Uint8Array;
  headers?: BusHeaders;
}

/**
 * Checks a subject the way a NATS server sees it: dot-separated non-empty tokens without
 * whitespace; `*` (one token) and `>` (the rest, last token only) are wildcards, allowed only
 * where `wildcards` is true (subscribe). Both adapters use it, so that a subject the twin accepts
 * works on NATS too.
 */
export function checkSubject(subject: string, wildcards: boolean): void {
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new TypeError('bus: subject must be a non-empty string');
  }
  const tokens = subject.split('.');
  tokens.forEach((token, index) => {
    if (token.length === 0 || /\s/.test(token)) {
      throw new TypeError(`bus: invalid subject "${subject}"`);
    }
    const wildcard = token === '*' || token === '>';
    if (wildcard && !wildcards) {
      throw new TypeError(`bus: wildcards are not allowed here: "${subject}"`);
    }
    if (token === '>' && index !== tokens.length - 1) {
      throw new TypeError(`bus: ">" must be the last token: "${subject}"`);
    }
    if (!wildcard && (token.includes('*') || token.includes('>'))) {
      throw new TypeError(`bus: invalid subject "${subject}"`);
    }
  });
}

/** Checks a request's subject and timeout (every adapter's `request` starts with it). */
export function checkRequest(subject: string, timeoutMs: number): void {
  checkSubject(subject, false);
  if (!(timeoutMs > 0)) {
    throw new RangeError(`bus: timeoutMs must be positive, got ${timeoutMs}`);
  }
}

/** Checks a subscription's subject (wildcards allowed) and queue group (every adapter's `subscribe` starts with it). */
export function checkSubscribe(subject: string, queue: string | undefined): void {
  checkSubject(subject, true);
  if (queue !== undefined) {
    checkQueue(queue);
  }
}

/** A queue group name: non-empty, no whitespace. */
function checkQueue(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || /\s/.test(queue)) {
    throw new TypeError(`bus: invalid queue group "${String(queue)}"`);
  }
}

/**
 * Validates and copies headers with NATS's rules: keys are printable ASCII without `:` (case is
 * kept), values have no CR/LF and lose surrounding whitespace (nats.js trims them on both ends).
 */
export function copyHeaders(headers: BusHeaders | undefined): BusHeaders {
  const copy: BusHeaders = {};
  if (headers === undefined) {
    return copy;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.length === 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(key)) {
      throw new TypeError(`bus: invalid header name "${key}"`);
    }
    if (typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw new TypeError(`bus: invalid value for header "${key}" (must be a string without CR/LF)`);
    }
    copy[key] = value.trim();
  }
  return copy;
}

/** The text sent in ERROR_HEADER for a handler's error: one line, bounded, never empty. */
export function errorText(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const text = raw
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .slice(0, MAX_ERROR_TEXT);
  return text.length > 0 ? text : 'remote handler failed';
}

/**
 * Runs a handler on one message: errors are caught and logged (never thrown back into the
 * transport), and for a request the handler's result, or its error in ERROR_HEADER, is sent to
 * `respond`. A request handler that returns nothing sends no reply: it may answer later by
 * publishing to `replyTo` itself, or the requester times out.
 *
 * The handler is called synchronously, so that handlers start in delivery order.
 */
export function runHandler(
  handler: BusHandler,
  message: BusMessage,
  respond: (reply: Reply) => void,
  logger: Logger,
): Promise<void> {
  const send = (reply: Reply): void => {
    try {
      respond(reply);
    } catch (error) {
      logger.warn({ err: error, subject: message.subject }, 'bus: could not send reply');
    }
  };
  const run = async (): Promise<void> => {
    let result: Awaited<ReturnType<BusHandler>>;
    try {
      result = await handler(message);
    } catch (error) {
      logger.warn({ err: error, subject: message.subject }, 'bus: handler failed');
      if (message.replyTo !== undefined) {
        send({ data: EMPTY, headers: { [ERROR_HEADER]: errorText(error) } });
      }
      return;
    }
    if (message.replyTo !== undefined && result) {
      send(result);
    }
  };
  return run();
}

/** A reply carrying ERROR_HEADER (`remote`, its value) is the responder's error: BusRemoteError. */
export function throwIfRemoteError(remote: string | undefined): void {
  if (remote !== undefined) {
    throw new BusRemoteError(remote);
  }
}

/** Keeps a running handler in `handlers` until it settles, so that close() can wait for it (settleAll). */
export function track(handlers: Set<Promise<void>>, running: Promise<void>): void {
  const tracked = running.finally(() => handlers.delete(tracked));
  handlers.add(tracked);
}

/** Fails every request waiting for a reply with `error`; the set is emptied first. */
export function failWaiting(waiting: Set<(error: BusError) => void>, error: BusError): void {
  const failing = [...waiting];
  waiting.clear();
  for (const fail of failing) {
    fail(error);
  }
}

/** Settles after every promise in `pending` (including ones added meanwhile) or after `ms`. */
export async function settleAll(pending: Set<Promise<void>>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pending.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) {
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
    });
    await Promise.race([Promise.allSettled([...pending]), timeout]);
    clearTimeout(timer);
  }
  return true;
}

/**
 * How long an `onUnheard` callback waits for its answer before it is forgotten (ms). The answer
 * comes from the server a round trip after the publish; a callback holds what it would send
 * again, so a short window keeps little of it alive.
 */
export const UNHEARD_WINDOW_MS = 1000;

/**
 * The `onUnheard` callbacks of publishes still waiting for a possible no-responders answer, by
 * number. Nothing answers a publish that was heard, so callbacks are forgotten after `windowMs`
 * to `2 × windowMs`: two generations, the older dropped when the newer is `windowMs` old.
 */
export class UnheardCallbacks {
  #current = new Map<number, () => void>();
  #previous = new Map<number, () => void>();
  #startedAt = Date.now();
  #next = 1;

  constructor(private readonly windowMs = UNHEARD_WINDOW_MS) {}

  /** Remembers a callback; returns its number. */
  add(callback: () => void): number {
    const now = Date.now();
    if (now - this.#startedAt >= this.windowMs) {
      this.#previous = this.#current;
      this.#current = new Map();
      this.#startedAt = now;
    }
    const id = this.#next++;
    this.#current.set(id, callback);
    return id;
  }

  /** The message numbered `id` reached nobody: its callback runs (once; not when forgotten), its error logged. */
  unheard(id: number, logger: Logger): void {
    const callback = this.#current.get(id) ?? this.#previous.get(id);
    this.#current.delete(id);
    this.#previous.delete(id);
    try {
      callback?.();
    } catch (error) {
      logger.warn({ err: error }, 'bus: an onUnheard callback failed');
    }
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
