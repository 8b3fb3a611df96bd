/**
 * The message bus between edges and workers (NATS in production, an in-memory twin in standalone
 * mode). Subjects are NATS-style (`sip.in.udp`, `edge.<id>.out`); headers carry metadata such as
 * the W3C trace context (`traceparent`, `tracestate`).
 */
export type BusHeaders = Record<string, string>;

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: BusHeaders;
  /** Present when the sender waits for a reply (request/reply). */
  readonly replyTo?: string;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group (load sharing). */
  queue?: string;
}

export interface PublishOptions {
  /**
   * Called once, soon after the publish, when no subscriber had the message (NATS answers a
   * publish that carries a reply subject and reaches nobody with its no-responders status). Not
   * called when a subscriber had it, nor when the message was lost on its way (at-most-once).
   */
  onUnheard?: () => void;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: BusHeaders;
}

export interface Subscription {
  /**
   * Stops delivery, as NATS's drain does: resolves once the messages routed to this subscription
   * before it ended have been handed to its handler (nothing on its way is dropped); messages
   * already being handled finish.
   */
  unsubscribe(): Promise<void>;
}

/**
 * A handler; for a request it returns the reply (or throws, which the requester sees as
 * BusRemoteError). Its return value is ignored for plain publishes.
 */
export interface BusReply {
  data: Uint8Array;
  headers?: BusHeaders;
}

export type BusHandler = (message: BusMessage) => void | BusReply | Promise<void | BusReply>;

export interface Bus {
  /** True while connected; operations fail with BusUnavailableError otherwise. */
  readonly connected: boolean;
  publish(subject: string, data: Uint8Array, headers?: BusHeaders, options?: PublishOptions): Promise<void>;
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Sends a request and waits for one reply; BusTimeoutError after `timeoutMs`, BusNoRespondersError when nobody listens. */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage>;
  /** Drains subscriptions and closes the connection. */
  close(): Promise<void>;
}

/** Base class of the bus's typed errors. */
export class BusError extends Error {
  override name = 'BusError';
}

/** The bus is disconnected (or closed); the operation was not performed. */
export class BusUnavailableError extends BusError {
  override name = 'BusUnavailableError';
}

/** No reply came within the timeout. */
export class BusTimeoutError extends BusError {
  override name = 'BusTimeoutError';
}

/** Nobody subscribes to the request's subject. */
export class BusNoRespondersError extends BusError {
  override name = 'BusNoRespondersError';
}

/** The responder's handler threw; `message` is its error message. */
export class BusRemoteError extends BusError {
  override name = 'BusRemoteError';
}

/** The bus errors by class name, for adapters that carry errors across a boundary by name. */
export const BUS_ERRORS: Readonly<Record<string, new (message: string) => BusError>> = {
  BusUnavailableError,
  BusTimeoutError,
  BusNoRespondersError,
  BusRemoteError,
};
