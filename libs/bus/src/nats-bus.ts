import { createLogger, type Logger } from '@sipedge/telemetry';
import {
  connect,
  createInbox,
  ErrorCode,
  Events,
  headers as natsHeaders,
  NatsError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type QueuedIterator,
  type Status,
  type Subscription as NatsSubscription,
} from 'nats';
import { checkRequest, checkSubject, checkSubscribe, copyHeaders, ERROR_HEADER, type Reply } from './internal.js';
import { failWaiting, runHandler, settleAll, throwIfRemoteError, track, UnheardCallbacks } from './internal.js';
import {
  BusError,
  BusNoRespondersError,
  BusTimeoutError,
  BusUnavailableError,
  type Bus,
  type BusHandler,
  type BusHeaders,
  type BusMessage,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
} from './port.js';

export interface NatsBusOptions {
  /** NATS server URL(s), e.g. `nats://nats:4222`. */
  servers: string | string[];
  /** Connection name, shown by the server's monitoring endpoints (e.g. `edge-1`). */
  name: string;
  /**
   * Wait between reconnect attempts to a server (default 1000 ms); each wait gets a random extra
   * of up to half of it (jitter), so that a fleet does not reconnect in lock-step.
   */
  reconnectWaitMs?: number;
  /**
   * Interval of the client's PINGs (default 10 s). Two unanswered PINGs mark the connection
   * stale and start a reconnect: this bounds how long a half-open TCP connection (server host
   * gone without a FIN/RST) goes unnoticed.
   */
  pingIntervalMs?: number;
  /** How long `subscribe`/`unsubscribe` wait for the server to confirm (default 5000 ms). */
  confirmTimeoutMs?: number;
  /** How long `close()` waits for running handlers before closing anyway (default 5000 ms). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

const DEFAULT_RECONNECT_WAIT_MS = 1000;
const DEFAULT_PING_INTERVAL_MS = 10_000;
const DEFAULT_CONFIRM_TIMEOUT_MS = 5000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Below the server's max_payload by more than this, a message fits whatever its headers (ours are a few hundred bytes). */
const HEADERS_ALLOWANCE = 64 * 1024;

/** A message published and not yet given to nats.js. */
interface QueuedPublish {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly hdrs: MsgHdrs | undefined;
  /** Where the server answers when nobody hears it (`onUnheard`). */
  readonly reply: string | undefined;
}

/** NATS's status code for a message with a reply subject that reached no subscriber. */
const NO_RESPONDERS = 503;

/**
 * Connects to NATS and returns a Bus. Fails with BusUnavailableError when no server answers
 * (the initial connection is not retried: a process that starts without its bus should fail
 * visibly); once connected, the client reconnects forever.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const logger = options.logger ?? createLogger({ name: 'bus' });
  const reconnectWaitMs = options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: reconnectWaitMs,
      reconnectJitter: Math.max(1, Math.round(reconnectWaitMs / 2)),
      pingInterval: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      maxPingOut: 2,
    });
  } catch (error) {
    throw new BusUnavailableError(`bus: cannot connect to ${String(options.servers)}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  return new NatsBus(nc, logger, options);
}

/**
 * The Bus on a NATS connection (nats.js v2).
 *
 * - `connected` follows the client's status events; while it is false, `publish`, `request` and
 *   `subscribe` fail at once with BusUnavailableError instead of letting nats.js buffer them,
 *   and requests still waiting for a reply when the connection drops fail the same way (a reply
 *   sent during the outage is lost anyway).
 * - Subscriptions made while connected are renewed by nats.js after a reconnect; messages
 *   published while a subscriber is disconnected are lost (core NATS is at-most-once).
 * - `subscribe` resolves once the server has the subscription (a PING/PONG round trip), so a
 *   publish from any client after that reaches it.
 * - Received `data` is a view into nats.js's read buffer (mind `byteOffset`); it is not reused.
 * - `data` passed to `publish`/`request` must not be modified afterwards: nats.js queues it
 *   without copying.
 * - `publish` resolves once the message is taken: checked (subject, headers, size, connection)
 *   and queued for the end of this turn of the event loop, when every message published in the
 *   turn goes to nats.js at once and leaves in one socket write (`#handOver`). nats.js alone
 *   writes once per microtask checkpoint, i.e. once per datagram or reply handled; a socket write
 *   costs tens of microseconds on a VM, and the NATS server reads each one. Whatever else writes
 *   on the connection (a request, a reply, a subscription, a flush, the drain) hands the queued
 *   messages over first, so messages leave in the order they were given. A message queued when
 *   the connection is lost before the end of the turn is dropped and logged, as one in flight
 *   would be (core NATS is at-most-once).
 */
export class NatsBus implements Bus {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #confirmTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #subscriptions = new Set<NatsSubscription>();
  readonly #handlers = new Set<Promise<void>>();
  /** Rejecters of requests waiting for a reply; called on disconnect. */
  readonly #waiting = new Set<(error: BusError) => void>();
  readonly #status: AsyncIterable<Status>;
  readonly #statusLoop: Promise<void>;
  #connected = true;
  /** Counts disconnects, so that a late reconnect confirmation is ignored. */
  #generation = 0;
  #closing: Promise<void> | undefined;
  /** Messages published in this turn of the event loop, not yet given to nats.js (see above). */
  #queued: QueuedPublish[] = [];
  /** Callbacks of publishes with `onUnheard`, numbered by the last token of their reply subject. */
  readonly #unheard = new UnheardCallbacks();
  /** The prefix of those reply subjects, subscribed (`<inbox>.*`) at the first such publish. */
  #unheardInbox: string | undefined;

  /** Use connectNatsBus. */
  constructor(
    nc: NatsConnection,
    logger: Logger,
    options: Pick<NatsBusOptions, 'confirmTimeoutMs' | 'closeTimeoutMs'>,
  ) {
    this.#nc = nc;
    this.#logger = logger;
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.#status = nc.status();
    this.#statusLoop = this.#watchStatus();
    nc.closed().then(
      (error) => {
        this.#connected = false;
        this.#stopStatus();
        failWaiting(this.#waiting, new BusUnavailableError('bus: connection closed'));
        if (error && this.#closing === undefined) {
          this.#logger.error({ err: error }, 'bus: connection closed by an error');
        }
      },
      (error: unknown) => this.#logger.error({ err: error }, 'bus: closed() failed'),
    );
  }

  get connected(): boolean {
    return this.#connected && this.#closing === undefined && !this.#nc.isClosed();
  }

  async publish(subject: string, data: Uint8Array, headers?: BusHeaders, options?: PublishOptions): Promise<void> {
    checkSubject(subject, false);
    const hdrs = toNatsHeaders(headers);
    this.#assertAvailable();
    this.#assertFits(subject, data, hdrs);
    const reply = options?.onUnheard === undefined ? undefined : this.#unheardReply(options.onUnheard);
    if (this.#queued.length === 0) setImmediate(() => this.#handOver());
    this.#queued.push({ subject, data, hdrs, reply });
  }

  /**
   * A reply subject for a publish whose `onUnheard` runs when the server answers it with its
   * no-responders status. Subscribed before the first such publish leaves (same connection, so the
   * server has the subscription first); nats.js renews it after a reconnect.
   */
  #unheardReply(onUnheard: () => void): string {
    if (this.#unheardInbox === undefined) {
      const inbox = createInbox();
      this.#nc.subscribe(`${inbox}.*`, {
        callback: (error, msg) => {
          if (error === null && msg.headers?.code === NO_RESPONDERS) {
            this.#unheard.unheard(Number(msg.subject.slice(inbox.length + 1)), this.#logger);
          }
        },
      });
      this.#unheardInbox = inbox;
    }
    return `${this.#unheardInbox}.${this.#unheard.add(onUnheard)}`;
  }

  /**
   * nats.js's own size check (the server's max_payload, headers as nats.js encodes them, which is
   * their `toString()`), made before the message is queued.
   */
  #assertFits(subject: string, data: Uint8Array, hdrs: MsgHdrs | undefined): void {
    const max = this.#nc.info?.max_payload;
    if (max === undefined || data.length + HEADERS_ALLOWANCE <= max) return;
    const length = data.length + (hdrs === undefined ? 0 : Buffer.byteLength(hdrs.toString()));
    if (length > max) throw mapError(NatsError.errorForCode(ErrorCode.MaxPayloadExceeded), subject);
  }

  /** Gives nats.js the messages queued so far, in order; it writes them in one socket write. */
  #handOver(): void {
    if (this.#queued.length === 0) return;
    const queued = this.#queued;
    this.#queued = [];
    if (!this.#connected || this.#nc.isClosed()) {
      this.#logger.warn({ messages: queued.length }, 'bus: connection lost before queued messages were sent; dropped');
      return;
    }
    for (const { subject, data, hdrs, reply } of queued) {
      try {
        // nats.js skips an absent header block or reply subject (and fills in the options it is given).
        this.#nc.publish(subject, data, hdrs || reply ? { headers: hdrs, reply } : undefined);
      } catch (error) {
        this.#logger.warn({ err: mapError(error, subject), subject }, 'bus: queued message not sent; dropped');
      }
    }
  }

  async subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    checkSubscribe(subject, options.queue);
    this.#assertAvailable();
    let active = true;
    let sub: NatsSubscription;
    this.#handOver();
    try {
      sub = this.#nc.subscribe(subject, {
        ...(options.queue === undefined ? {} : { queue: options.queue }),
        callback: (error, msg) => {
          if (error) {
            this.#logger.warn({ err: error, subject }, 'bus: subscription error');
            return;
          }
          if (active) {
            this.#dispatch(handler, msg);
          }
        },
      });
    } catch (error) {
      throw mapError(error, subject);
    }
    this.#subscriptions.add(sub);
    let stopping: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      this.#subscriptions.delete(sub);
      if (!this.#nc.isClosed() && this.connected) {
        // Drain (UNSUB, then PING/PONG): what the server routed here before it took the UNSUB
        // is still handled, instead of dropped on arrival. Best effort within the confirm timeout.
        await this.#withinConfirmTimeout(sub.drain()).catch(() => undefined);
      }
      if (!sub.isClosed() && !this.#nc.isClosed()) {
        this.#handOver();
        sub.unsubscribe();
      }
      active = false;
    };
    const unsubscribe = (): Promise<void> => (stopping ??= stop());
    try {
      await this.#confirm();
    } catch (error) {
      await unsubscribe();
      throw error;
    }
    return { unsubscribe };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage> {
    checkRequest(subject, options.timeoutMs);
    const hdrs = toNatsHeaders(options.headers);
    this.#assertAvailable();
    this.#handOver();
    const reply = await new Promise<Msg>((resolve, reject) => {
      const fail = (error: BusError): void => reject(error);
      this.#waiting.add(fail);
      const done = (): void => {
        this.#waiting.delete(fail);
      };
      try {
        this.#nc
          .request(subject, data, {
            timeout: Math.ceil(options.timeoutMs),
            ...(hdrs ? { headers: hdrs } : {}),
          })
          .then(
            (msg) => {
              done();
              resolve(msg);
            },
            (error: unknown) => {
              done();
              // Closing the connection fails waiting requests with a nats.js Timeout error.
              reject(
                this.#nc.isClosed()
                  ? new BusUnavailableError('bus: closed while waiting for a reply', { cause: error })
                  : mapError(error, subject, options.timeoutMs),
              );
            },
          );
      } catch (error) {
        done();
        reject(mapError(error, subject, options.timeoutMs));
      }
    });
    const message = toBusMessage(reply);
    throwIfRemoteError(reply.headers?.has(ERROR_HEADER) ? reply.headers.get(ERROR_HEADER) : undefined);
    return message;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#nc.isClosed()) {
      await this.#statusLoopEnd();
      return;
    }
    if (this.#connected) {
      // Drain: stop interest (UNSUB + PING/PONG, messages already sent are still handled), let
      // running handlers finish and send their replies, then flush and close.
      const subs = [...this.#subscriptions];
      this.#subscriptions.clear();
      await Promise.allSettled(subs.map((sub) => sub.drain()));
      if (!(await settleAll(this.#handlers, this.#closeTimeoutMs))) {
        this.#logger.warn({ running: this.#handlers.size }, 'bus: closing with handlers still running');
      }
      this.#handOver();
      try {
        await this.#nc.drain();
      } catch (error) {
        this.#logger.warn({ err: error }, 'bus: drain failed; closing');
      }
      // nats.js's drain() resolves without closing when its final flush fails (the connection
      // dropped meanwhile); the client would then reconnect forever.
      if (!this.#nc.isClosed()) {
        await this.#nc.close();
      }
    } else {
      // Nothing can be flushed to a server that is not there.
      await this.#nc.close();
    }
    await this.#statusLoopEnd();
  }

  /**
   * nats.js 2.29 never ends the iterator returned by `nc.status()` when the connection closes
   * (only the protocol-level one is stopped), so the loop is stopped here. The iterator is a
   * QueuedIterator at run time, though typed as AsyncIterable.
   */
  #stopStatus(): boolean {
    const stop = (this.#status as Partial<QueuedIterator<Status>>).stop;
    if (typeof stop !== 'function') {
      return false;
    }
    stop.call(this.#status);
    return true;
  }

  async #statusLoopEnd(): Promise<void> {
    if (this.#stopStatus()) {
      await this.#statusLoop;
    }
  }

  #assertAvailable(): void {
    if (this.#closing !== undefined || this.#nc.isClosed()) {
      throw new BusUnavailableError('bus: closed');
    }
    if (!this.#connected) {
      throw new BusUnavailableError('bus: disconnected from NATS');
    }
  }

  /** Waits for the server to have processed everything sent so far (PING/PONG). */
  async #confirm(): Promise<void> {
    this.#handOver();
    await this.#withinConfirmTimeout(this.#nc.flush());
  }

  /** `done`, failing with BusUnavailableError when the server has not answered within the confirm timeout. */
  async #withinConfirmTimeout(done: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new BusUnavailableError('bus: the server did not answer in time')),
        this.#confirmTimeoutMs,
      );
    });
    try {
      await Promise.race([done.catch((error: unknown) => Promise.reject(mapError(error, ''))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #dispatch(handler: BusHandler, msg: Msg): void {
    let message: BusMessage;
    try {
      message = toBusMessage(msg);
    } catch (error) {
      this.#logger.warn({ err: error, subject: msg.subject }, 'bus: dropped a malformed message');
      return;
    }
    const respond = (reply: Reply): void => {
      const hdrs = toNatsHeaders(reply.headers);
      this.#handOver();
      msg.respond(reply.data, hdrs ? { headers: hdrs } : undefined);
    };
    track(this.#handlers, runHandler(handler, message, respond, this.#logger));
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.#status) {
        switch (status.type) {
          case Events.Disconnect:
            this.#generation += 1;
            this.#connected = false;
            failWaiting(
              this.#waiting,
              new BusUnavailableError('bus: disconnected from NATS while waiting for a reply'),
            );
            this.#logger.warn({ server: status.data }, 'bus: disconnected from NATS; reconnecting');
            break;
          case Events.Reconnect:
            this.#reconnected(String(status.data));
            break;
          case Events.LDM:
            this.#logger.warn({ server: status.data }, 'bus: NATS server entering lame duck mode');
            break;
          case Events.Error:
            this.#logger.error({ error: status.data }, 'bus: NATS reported an error');
            break;
          default:
            break;
        }
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'bus: status watcher failed');
    }
  }

  /**
   * nats.js reports a reconnect after re-sending the subscriptions but before the server has
   * processed them; `connected` turns true only after a PING/PONG round trip, so that once it is
   * true the subscriptions made before the outage receive messages again.
   */
  #reconnected(server: string): void {
    const generation = this.#generation;
    this.#nc.flush().then(
      () => {
        if (generation === this.#generation && !this.#nc.isClosed()) {
          this.#connected = true;
          this.#logger.info({ server }, 'bus: reconnected to NATS');
        }
      },
      (error: unknown) =>
        this.#logger.debug({ err: error, server }, 'bus: lost the connection again while reconnecting'),
    );
  }
}

function toNatsHeaders(headers: BusHeaders | undefined): MsgHdrs | undefined {
  const copy = copyHeaders(headers);
  const keys = Object.keys(copy);
  if (keys.length === 0) {
    return undefined;
  }
  const hdrs = natsHeaders();
  for (const key of keys) {
    hdrs.set(key, copy[key] as string);
  }
  return hdrs;
}

function toBusMessage(msg: Msg): BusMessage {
  const headers: BusHeaders = {};
  if (msg.headers) {
    for (const key of msg.headers.keys()) {
      headers[key] = msg.headers.values(key).join(', ');
    }
  }
  return {
    subject: msg.subject,
    data: msg.data,
    headers,
    ...(msg.reply ? { replyTo: msg.reply } : {}),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function mapError(error: unknown, subject: string, timeoutMs?: number): Error {
  if (error instanceof BusError) {
    return error;
  }
  if (!(error instanceof NatsError)) {
    return error instanceof Error ? error : new BusError(String(error));
  }
  const options = { cause: error };
  switch (error.code) {
    case ErrorCode.Timeout:
      return new BusTimeoutError(`bus: no reply on "${subject}" within ${timeoutMs ?? '?'} ms`, options);
    case ErrorCode.NoResponders:
      return new BusNoRespondersError(`bus: no responders on "${subject}"`, options);
    case ErrorCode.ConnectionClosed:
    case ErrorCode.ConnectionDraining:
    case ErrorCode.Disconnect:
    case ErrorCode.ConnectionRefused:
    case ErrorCode.ConnectionTimeout:
    case ErrorCode.Cancelled:
      return new BusUnavailableError(`bus: ${error.message}`, options);
    default:
      return new BusError(`bus: ${error.message}`, options);
  }
}
