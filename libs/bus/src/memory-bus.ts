import { createLogger, type Logger } from '@sipedge/telemetry';
import { checkRequest, checkSubject, checkSubscribe, copyHeaders, ERROR_HEADER, type Reply } from './internal.js';
import { failWaiting, runHandler, settleAll, throwIfRemoteError, track, UnheardCallbacks } from './internal.js';
import {
  BusNoRespondersError,
  BusTimeoutError,
  BusUnavailableError,
  type Bus,
  type BusError,
  type BusHandler,
  type BusHeaders,
  type BusMessage,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
} from './port.js';

/** One subscription registered with the hub. */
interface HubSubscription {
  readonly owner: MemoryBus;
  readonly subject: string;
  readonly tokens: readonly string[];
  readonly queue: string | undefined;
  active: boolean;
  deliver(message: BusMessage): void;
}

/**
 * The shared "server" of in-memory buses: every MemoryBus made from one hub sees the others'
 * messages, as clients of one NATS server do. Subjects follow NATS rules, including the `*` and
 * `>` wildcards.
 */
export class MemoryBusHub {
  readonly #subscriptions: HubSubscription[] = [];
  readonly #roundRobin = new Map<string, number>();

  /** A new client of this hub. */
  connect(options: Omit<MemoryBusOptions, 'hub'> = {}): MemoryBus {
    return new MemoryBus({ ...options, hub: this });
  }

  /** @internal */
  add(subscription: HubSubscription): void {
    this.#subscriptions.push(subscription);
  }

  /** @internal */
  remove(subscription: HubSubscription): void {
    subscription.active = false;
    this.#withdraw(subscription);
  }

  /**
   * Routes nothing more to `subscription`, delivers what was routed to it already (deliveries run
   * in routing order, so one more turn comes after them all), then deactivates it: NATS's drain.
   * @internal
   */
  async drain(subscription: HubSubscription): Promise<void> {
    this.#withdraw(subscription);
    await new Promise<void>((resolve) => setImmediate(resolve));
    subscription.active = false;
  }

  #withdraw(subscription: HubSubscription): void {
    const index = this.#subscriptions.indexOf(subscription);
    if (index !== -1) {
      this.#subscriptions.splice(index, 1);
    }
  }

  /**
   * Routes a message: every plain subscription gets a copy, and each queue group (queue name and
   * subject, as in NATS) one member, round robin. Only subscriptions of connected clients count.
   * Delivery happens later (setImmediate), in publish order. Returns the number of receivers.
   * @internal
   */
  route(subject: string, data: Uint8Array, headers: BusHeaders, replyTo: string | undefined): number {
    const tokens = subject.split('.');
    const groups = new Map<string, HubSubscription[]>();
    const receivers: HubSubscription[] = [];
    for (const sub of this.#subscriptions) {
      if (!sub.active || !sub.owner.receiving || !matches(sub.tokens, tokens)) {
        continue;
      }
      if (sub.queue === undefined) {
        receivers.push(sub);
      } else {
        const key = `${sub.queue} ${sub.subject}`;
        const members = groups.get(key);
        if (members) {
          members.push(sub);
        } else {
          groups.set(key, [sub]);
        }
      }
    }
    for (const [key, members] of groups) {
      const next = this.#roundRobin.get(key) ?? 0;
      this.#roundRobin.set(key, next + 1);
      receivers.push(members[next % members.length] as HubSubscription);
    }
    for (const sub of receivers) {
      // Each receiver gets its own bytes and headers, as over a network.
      const message: BusMessage = {
        subject,
        data: data.slice(),
        headers: { ...headers },
        ...(replyTo === undefined ? {} : { replyTo }),
      };
      setImmediate(() => {
        if (sub.active && sub.owner.receiving) {
          sub.deliver(message);
        }
      });
    }
    return receivers.length;
  }
}

function matches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === '>') {
      return subject.length > i;
    }
    if (i >= subject.length || (token !== '*' && token !== subject[i])) {
      return false;
    }
  }
  return pattern.length === subject.length;
}

export interface MemoryBusOptions {
  /** The hub to join; by default a new one of its own. */
  hub?: MemoryBusHub;
  /** How long `close()` waits for running handlers before closing anyway (default 5000 ms). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

let nextClientId = 0;

/**
 * The in-memory twin of NatsBus, for standalone mode and tests, with the same semantics:
 * asynchronous delivery (never re-entrant), NATS subject wildcards, queue groups, request/reply
 * with timeout, no-responders and remote errors, headers validated and copied like NATS does
 * (values trimmed), data copied. `setConnected(false)` simulates losing the server: operations
 * fail with BusUnavailableError, waiting requests fail, and messages for this client are lost
 * until `setConnected(true)`; its subscriptions then receive again.
 */
export class MemoryBus implements Bus {
  readonly hub: MemoryBusHub;
  readonly #logger: Logger;
  readonly #closeTimeoutMs: number;
  readonly #inboxPrefix = `_INBOX.mem${nextClientId++}.`;
  readonly #subscriptions = new Set<HubSubscription>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #waiting = new Set<(error: BusError) => void>();
  readonly #unheard = new UnheardCallbacks();
  #nextInbox = 0;
  #link = true;
  #closing: Promise<void> | undefined;
  /** Set at the end of close(): even replies of draining handlers fail from then on. */
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.hub = options.hub ?? new MemoryBusHub();
    this.#logger = options.logger ?? createLogger({ name: 'bus' });
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  }

  get connected(): boolean {
    return this.#link && this.#closing === undefined;
  }

  /**
   * Whether the hub delivers to this client: connected, or closing (a closing client still gets
   * the replies to its requests, as NATS's drain does).
   * @internal
   */
  get receiving(): boolean {
    return this.#link && !this.#closed;
  }

  /** Test hook: simulates losing (false) and regaining (true) the connection to the server. */
  setConnected(connected: boolean): void {
    if (this.#closed) {
      return;
    }
    this.#link = connected;
    if (!connected) {
      failWaiting(this.#waiting, new BusUnavailableError('bus: disconnected while waiting for a reply'));
    }
  }

  async publish(subject: string, data: Uint8Array, headers?: BusHeaders, options?: PublishOptions): Promise<void> {
    checkSubject(subject, false);
    const copy = copyHeaders(headers);
    this.#assertAvailable();
    if (options?.onUnheard === undefined) {
      this.hub.route(subject, data, copy, undefined);
      return;
    }
    // As on NATS, receivers see a reply subject, whose replies go nowhere; a message nobody
    // received is told later, as NATS's no-responders answer comes.
    const id = this.#unheard.add(options.onUnheard);
    if (this.hub.route(subject, data, copy, `${this.#inboxPrefix}unheard.${id}`) === 0) {
      setImmediate(() => this.#unheard.unheard(id, this.#logger));
    }
  }

  async subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    checkSubscribe(subject, options.queue);
    this.#assertAvailable();
    const sub = this.#register(subject, options.queue, (message) => this.#dispatch(handler, message));
    return {
      unsubscribe: async () => {
        this.#subscriptions.delete(sub);
        await this.hub.drain(sub);
      },
    };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage> {
    checkRequest(subject, options.timeoutMs);
    const headers = copyHeaders(options.headers);
    this.#assertAvailable();
    const inbox = `${this.#inboxPrefix}${this.#nextInbox++}`;
    const reply = await new Promise<BusMessage>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(fail);
        this.#subscriptions.delete(sub);
        this.hub.remove(sub);
      };
      const fail = (error: BusError): void => {
        finish();
        reject(error);
      };
      const sub = this.#register(inbox, undefined, (message) => {
        finish();
        resolve(message);
      });
      this.#waiting.add(fail);
      const timer = setTimeout(
        () => fail(new BusTimeoutError(`bus: no reply on "${subject}" within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      if (this.hub.route(subject, data, headers, inbox) === 0) {
        // NATS answers "no responders" after a network round trip, not synchronously.
        setImmediate(() => fail(new BusNoRespondersError(`bus: no responders on "${subject}"`)));
      }
    });
    throwIfRemoteError(reply.headers[ERROR_HEADER]);
    return reply;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const sub of this.#subscriptions) {
      if (!sub.subject.startsWith(this.#inboxPrefix)) {
        this.#subscriptions.delete(sub);
        this.hub.remove(sub);
      }
    }
    if (!(await settleAll(this.#handlers, this.#closeTimeoutMs))) {
      this.#logger.warn({ running: this.#handlers.size }, 'bus: closing with handlers still running');
    }
    this.#closed = true;
    this.#link = false;
    failWaiting(this.#waiting, new BusUnavailableError('bus: closed while waiting for a reply'));
    for (const sub of this.#subscriptions) {
      this.hub.remove(sub);
    }
    this.#subscriptions.clear();
  }

  #assertAvailable(): void {
    if (this.#closing !== undefined) {
      throw new BusUnavailableError('bus: closed');
    }
    if (!this.#link) {
      throw new BusUnavailableError('bus: disconnected');
    }
  }

  #register(subject: string, queue: string | undefined, deliver: (message: BusMessage) => void): HubSubscription {
    const sub: HubSubscription = { owner: this, subject, tokens: subject.split('.'), queue, active: true, deliver };
    this.#subscriptions.add(sub);
    this.hub.add(sub);
    return sub;
  }

  #dispatch(handler: BusHandler, message: BusMessage): void {
    const respond = (reply: Reply): void => {
      if (this.#closed || !this.#link) {
        throw new BusUnavailableError('bus: cannot reply while disconnected');
      }
      const replyTo = message.replyTo as string;
      checkSubject(replyTo, false);
      this.hub.route(replyTo, reply.data, copyHeaders(reply.headers), undefined);
    };
    track(this.#handlers, runHandler(handler, message, respond, this.#logger));
  }
}
