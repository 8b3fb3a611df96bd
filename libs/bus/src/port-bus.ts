/**
 * A bus across threads: `PortBus` is a Bus of a worker thread whose every operation is carried
 * over a MessagePort to the thread that owns a real Bus connection (`serveBusOnPort`), which
 * performs it there and sends back deliveries, request results and errors. Standalone mode runs
 * its transaction worker on a thread of its own this way, on the edge thread's in-memory bus.
 *
 * Semantics are the owner's bus's (subjects, queue groups, request/reply, remote errors), with
 * one difference: a publish is not acknowledged (it is checked here, sent, and a failure on the
 * owner's side is logged there), as a NATS publish is not either.
 */
import type { MessagePort } from 'node:worker_threads';
import { createLogger, type Logger } from '@sipedge/telemetry';
import {
  checkRequest,
  checkSubject,
  checkSubscribe,
  copyHeaders,
  errorText,
  runHandler,
  settleAll,
  UnheardCallbacks,
} from './internal.js';
import {
  BUS_ERRORS,
  BusError,
  BusUnavailableError,
  type Bus,
  type BusHandler,
  type BusHeaders,
  type BusMessage,
  type BusReply,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
} from './port.js';

/** What the thread asks of the owner. */
type Operation =
  /** `uid`: the publish has an `onUnheard`, told back by number (`unheard`). */
  | { t: 'publish'; subject: string; data: Uint8Array; headers: BusHeaders; uid?: number }
  | { t: 'subscribe'; sid: number; subject: string; queue?: string }
  | { t: 'unsubscribe'; sid: number }
  | { t: 'request'; rid: number; subject: string; data: Uint8Array; headers: BusHeaders; timeoutMs: number }
  /** The thread's handler finished a delivered request: its reply, none, or its error's text. */
  | { t: 'handled'; did: number; reply?: BusReply; error?: string }
  | { t: 'close' };

/** What the owner sends the thread. */
type Notice =
  | { t: 'subscribed'; sid: number; error?: WireError }
  /** The subscription is drained: every message routed to it was sent before this. */
  | { t: 'unsubscribed'; sid: number }
  /** A delivery; `did` is set for a request, whose handler's outcome the owner waits for. */
  | { t: 'message'; sid: number; did?: number; message: BusMessage }
  | { t: 'result'; rid: number; message?: BusMessage; error?: WireError }
  /** The publish numbered `uid` reached nobody. */
  | { t: 'unheard'; uid: number }
  | { t: 'closed' };

interface WireError {
  name: string;
  message: string;
}

/**
 * Sends over a port in batches: what is sent within one turn of the event loop goes as one
 * message (an array), so that a busy thread pays one wake-up of the other for many operations.
 */
function batchedSender<T>(port: MessagePort): { send(item: T): void; flush(): void } {
  let batch: T[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    port.postMessage(sending);
  };
  return {
    send(item) {
      batch.push(item);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** Receives what a batchedSender sent, one item at a time in order. */
function onBatches<T>(port: MessagePort, receive: (item: T) => void): void {
  port.on('message', (batch: T[]) => {
    for (const item of batch) receive(item);
  });
}

const wireError = (error: unknown): WireError =>
  error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };

function fromWire(error: WireError): Error {
  const Type = BUS_ERRORS[error.name];
  if (Type !== undefined) return new Type(error.message);
  return error.name === 'TypeError' ? new TypeError(error.message) : new BusError(error.message);
}

export interface PortBusOptions {
  /** How long `close()` waits for running handlers before closing anyway (default 5000 ms). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

/** The thread's side: a Bus whose operations the owner of `port`'s other end performs. */
export class PortBus implements Bus {
  readonly #port: MessagePort;
  readonly #sender: { send(item: Operation): void; flush(): void };
  readonly #logger: Logger;
  readonly #closeTimeoutMs: number;
  readonly #handlers = new Map<number, BusHandler>();
  readonly #subscribing = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  readonly #requests = new Map<number, { resolve: (message: BusMessage) => void; reject: (error: Error) => void }>();
  /** Subscriptions the owner is draining: resolved at its `unsubscribed`, or at close. */
  readonly #unsubscribing = new Map<number, () => void>();
  readonly #running = new Set<Promise<void>>();
  readonly #unheard = new UnheardCallbacks();
  #nextId = 1;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;

  constructor(port: MessagePort, options: PortBusOptions = {}) {
    this.#port = port;
    this.#logger = options.logger ?? createLogger({ name: 'bus' });
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.#sender = batchedSender(port);
    onBatches(port, (notice: Notice) => this.#receive(notice));
  }

  get connected(): boolean {
    return this.#closing === undefined;
  }

  async publish(subject: string, data: Uint8Array, headers?: BusHeaders, options?: PublishOptions): Promise<void> {
    checkSubject(subject, false);
    const copy = copyHeaders(headers);
    this.#assertOpen();
    const onUnheard = options?.onUnheard;
    this.#send({
      t: 'publish',
      subject,
      data,
      headers: copy,
      ...(onUnheard === undefined ? {} : { uid: this.#unheard.add(onUnheard) }),
    });
  }

  async subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    checkSubscribe(subject, options.queue);
    this.#assertOpen();
    const sid = this.#nextId++;
    this.#handlers.set(sid, handler);
    await new Promise<void>((resolve, reject) => {
      this.#subscribing.set(sid, { resolve, reject });
      this.#send({ t: 'subscribe', sid, subject, ...(options.queue === undefined ? {} : { queue: options.queue }) });
    }).catch((error: unknown) => {
      this.#handlers.delete(sid);
      throw error;
    });
    let unsubscribing: Promise<void> | undefined;
    return {
      // The handler stays until the owner has drained the subscription: what was routed to it
      // before is still handled.
      unsubscribe: () =>
        (unsubscribing ??= new Promise<void>((resolve) => {
          if (this.#closing !== undefined || !this.#handlers.has(sid)) return resolve();
          this.#unsubscribing.set(sid, resolve);
          this.#send({ t: 'unsubscribe', sid });
        }).finally(() => this.#handlers.delete(sid))),
    };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage> {
    checkRequest(subject, options.timeoutMs);
    const headers = copyHeaders(options.headers);
    this.#assertOpen();
    const rid = this.#nextId++;
    return new Promise<BusMessage>((resolve, reject) => {
      this.#requests.set(rid, { resolve, reject });
      this.#send({ t: 'request', rid, subject, data, headers, timeoutMs: options.timeoutMs });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#handlers.clear();
    if (!(await settleAll(this.#running, this.#closeTimeoutMs))) {
      this.#logger.warn({ running: this.#running.size }, 'bus: closing with handlers still running');
    }
    const closed = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    this.#send({ t: 'close' });
    this.#sender.flush();
    await closed;
    const error = new BusUnavailableError('bus: closed while waiting for a reply');
    for (const waiting of [...this.#requests.values(), ...this.#subscribing.values()]) waiting.reject(error);
    this.#requests.clear();
    this.#subscribing.clear();
    for (const done of this.#unsubscribing.values()) done();
    this.#unsubscribing.clear();
    this.#port.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new BusUnavailableError('bus: closed');
  }

  #send(operation: Operation): void {
    this.#sender.send(operation);
  }

  #receive(notice: Notice): void {
    switch (notice.t) {
      case 'unheard':
        this.#unheard.unheard(notice.uid, this.#logger);
        return;
      case 'subscribed': {
        const waiting = this.#subscribing.get(notice.sid);
        this.#subscribing.delete(notice.sid);
        if (notice.error === undefined) waiting?.resolve();
        else waiting?.reject(fromWire(notice.error));
        return;
      }
      case 'unsubscribed':
        this.#unsubscribing.get(notice.sid)?.();
        this.#unsubscribing.delete(notice.sid);
        return;
      case 'message':
        this.#deliver(notice.sid, notice.did, notice.message);
        return;
      case 'result': {
        const waiting = this.#requests.get(notice.rid);
        this.#requests.delete(notice.rid);
        if (notice.message !== undefined) waiting?.resolve(notice.message);
        else waiting?.reject(fromWire(notice.error ?? { name: 'BusError', message: 'bus: no result' }));
        return;
      }
      case 'closed':
        this.#closed?.();
        return;
    }
  }

  #deliver(sid: number, did: number | undefined, message: BusMessage): void {
    const handler = this.#handlers.get(sid);
    let running: Promise<void>;
    if (did === undefined) {
      if (handler === undefined) return;
      running = runHandler(handler, message, () => undefined, this.#logger);
    } else {
      // A request: the owner's bus replies (or sends the error) once it has the handler's outcome.
      running = this.#answer(did, handler, message);
    }
    const tracked = running.finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  async #answer(did: number, handler: BusHandler | undefined, message: BusMessage): Promise<void> {
    if (handler === undefined) {
      this.#send({ t: 'handled', did });
      return;
    }
    try {
      const reply = await handler(message);
      this.#send({ t: 'handled', did, ...(reply ? { reply } : {}) });
    } catch (error) {
      this.#logger.warn({ err: error, subject: message.subject }, 'bus: handler failed');
      this.#send({ t: 'handled', did, error: errorText(error) });
    }
  }
}

export interface ServeBusOptions {
  /** Called as each delivery to the thread is posted to it, in order (a queue gauge counts them). */
  forwarded?: (message: BusMessage) => void;
}

/**
 * The owner's side: performs what the PortBus at the other end of `port` asks, on `bus`, until
 * that PortBus closes (its subscriptions are then removed; `bus` itself is left open).
 */
export function serveBusOnPort(port: MessagePort, bus: Bus, logger: Logger, options: ServeBusOptions = {}): void {
  const subscriptions = new Map<number, Promise<Subscription | undefined>>();
  const handling = new Map<number, { resolve: (reply: BusReply | undefined) => void; reject: (e: Error) => void }>();
  let nextDelivery = 1;
  const sender = batchedSender<Notice>(port);
  const send = sender.send;

  const forward = (sid: number) => (message: BusMessage) => {
    const plain: BusMessage = {
      subject: message.subject,
      data: message.data,
      headers: message.headers,
      ...(message.replyTo === undefined ? {} : { replyTo: message.replyTo }),
    };
    options.forwarded?.(plain);
    if (message.replyTo === undefined) {
      send({ t: 'message', sid, message: plain });
      return undefined;
    }
    const did = nextDelivery++;
    return new Promise<BusReply | undefined>((resolve, reject) => {
      handling.set(did, { resolve, reject });
      send({ t: 'message', sid, did, message: plain });
    });
  };

  const perform = async (operation: Operation): Promise<void> => {
    switch (operation.t) {
      case 'publish': {
        const { uid } = operation;
        const options = uid === undefined ? undefined : { onUnheard: () => send({ t: 'unheard', uid }) };
        await bus.publish(operation.subject, operation.data, operation.headers, options).catch((error: unknown) => {
          logger.warn({ err: error, subject: operation.subject }, 'bus: a thread’s publish failed');
        });
        return;
      }
      case 'subscribe': {
        const { sid, subject, queue } = operation;
        const subscribing = bus.subscribe(subject, forward(sid), queue === undefined ? {} : { queue });
        subscriptions.set(
          sid,
          subscribing.catch(() => undefined),
        );
        try {
          await subscribing;
          send({ t: 'subscribed', sid });
        } catch (error) {
          subscriptions.delete(sid);
          send({ t: 'subscribed', sid, error: wireError(error) });
        }
        return;
      }
      case 'unsubscribe': {
        const subscription = await subscriptions.get(operation.sid);
        subscriptions.delete(operation.sid);
        await subscription?.unsubscribe();
        send({ t: 'unsubscribed', sid: operation.sid });
        return;
      }
      case 'request': {
        const { rid, subject, data, headers, timeoutMs } = operation;
        try {
          const message = await bus.request(subject, data, { timeoutMs, headers });
          send({
            t: 'result',
            rid,
            message: { subject: message.subject, data: message.data, headers: message.headers },
          });
        } catch (error) {
          send({ t: 'result', rid, error: wireError(error) });
        }
        return;
      }
      case 'handled': {
        const waiting = handling.get(operation.did);
        handling.delete(operation.did);
        if (operation.error === undefined) waiting?.resolve(operation.reply);
        else waiting?.reject(new Error(operation.error));
        return;
      }
      case 'close': {
        const all = await Promise.all(subscriptions.values());
        subscriptions.clear();
        await Promise.all(all.map((subscription) => subscription?.unsubscribe()));
        for (const waiting of handling.values()) waiting.resolve(undefined);
        handling.clear();
        send({ t: 'closed' });
        sender.flush();
        port.close();
        return;
      }
    }
  };

  onBatches(port, (operation: Operation) => {
    perform(operation).catch((error: unknown) =>
      logger.error({ err: error, op: operation.t }, 'bus: thread operation failed'),
    );
  });
}
