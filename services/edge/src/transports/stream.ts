import { createServer, type Server, type Socket } from 'node:net';
import { checkEdgeId } from '@sipedge/handoff';
import { DEFAULT_MAX_MESSAGE_SIZE, StreamFramer } from '@sipedge/sip';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { formatEndpoint } from '@sipedge/net';
import { endpointOf, familyOf } from './endpoint.js';
import { newFlowId } from './flow-id.js';
import { AcceptGate, type GateRefusal } from './accept-gate.js';
import { ConnectionLimit } from './connection-limit.js';
import { type TransportState, callHandler, messageOf, openListeners } from './internal.js';
import type { StreamConnectOptions, StreamSockets } from './stream-sockets.js';
import type { Arrival, Endpoint, TransportHandler } from './types.js';

/**
 * Why an accepted connection never became a flow: over the per-source limit or the process's total
 * (`connectionLimit`; both refused at once, before any TLS work), or (TLS) closed or failed before
 * its handshake completed.
 */
export type StreamRejectReason = GateRefusal | 'handshake-failed';

export interface StreamTransportOptions {
  /** TCP or TLS: `tcpSockets()` or `tlsSockets(settings, logger)`; one per transport. */
  sockets: StreamSockets;
  /** This edge's id, part of every flow id (`f-<edgeId>-<counter>-<random>`). */
  edgeId: string;
  /**
   * Addresses to listen on, one server each (IPv6 ones IPv6-only, so that `0.0.0.0:5060` and
   * `[::]:5060` can both be bound). Port 0 picks a free port (see `addresses()`). May be empty
   * for a transport that only connects out.
   */
  listen: Endpoint[];
  handler: TransportHandler;
  /** Largest message a flow accepts (header section plus body; default 65535). */
  maxMessageSize?: number;
  /** A flow without traffic in either direction for this long is closed (default 300 s; 0: never). */
  idleTimeoutMs?: number;
  /** Accepted connections at once from one source IP address (default 100); outgoing ones do not count. */
  maxConnectionsPerSource?: number;
  /**
   * Connections at once, accepted and outgoing, shared with the process's other stream transports
   * (TCP and TLS together); default: a limit of this transport's own of 5,000. An accepted
   * connection beyond it is refused, a `connect()` beyond it rejects without opening a socket.
   */
  connectionLimit?: ConnectionLimit;
  /**
   * Once the first byte of a message has arrived, the whole message (header section and body) must
   * have arrived within this long, or the flow is closed (default 10 s; 0: never). CRLF keep-alives
   * between messages (RFC 5626 §4.4.1) do not start the clock. Unlike the idle timeout, which every
   * byte restarts, this bounds how long a peer trickling bytes holds a connection and a buffer.
   */
  messageTimeoutMs?: number;
  /** `connect()` gives up after this long (default 10 s; TLS: including the handshake). */
  connectTimeoutMs?: number;
  /** A flow being closed gets this long to flush and end gracefully before it is destroyed (default 2 s). */
  closeGraceMs?: number;
  /**
   * Bytes a flow may have queued for writing; a `send` beyond this destroys the flow (a peer that
   * does not read) and returns false (default 1 MiB).
   */
  maxWriteBufferBytes?: number;
  /** Called for every accepted connection that did not become a flow (for metrics). */
  onRejected?: (reason: StreamRejectReason, source: Endpoint) => void;
  /** Sources refused at once when they connect (the fleet's bans), before any other work. */
  isBanned?: (address: string) => boolean;
  /** Called for every flow closed because a message did not arrive within `messageTimeoutMs` (for metrics). */
  onMessageTimeout?: (flowId: string, source: Endpoint) => void;
  logger?: Logger;
}

/** What the transport knows about an open flow. */
export interface FlowInfo {
  id: string;
  transport: 'tcp' | 'tls';
  /** Accepted from a client, or opened by `connect()`. */
  direction: 'inbound' | 'outbound';
  remote: Endpoint;
  local: Endpoint;
}

const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 100;
const DEFAULT_MAX_CONNECTIONS = 5_000;
const DEFAULT_MESSAGE_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_GRACE_MS = 2000;
const DEFAULT_MAX_WRITE_BUFFER_BYTES = 1024 * 1024;
const CRLF = Buffer.from('\r\n');

interface Flow extends FlowInfo {
  socket: Socket;
  framer: StreamFramer;
  /** end() was called: nothing more is sent or delivered. */
  closing: boolean;
  graceTimer: NodeJS.Timeout | undefined;
  /** Runs from the first byte of a message until the message is complete (`messageTimeoutMs`). */
  messageTimer: NodeJS.Timeout | undefined;
  /** Settles when the socket has closed. */
  closed: Promise<void>;
}

interface Listener {
  server: Server;
  local: Endpoint;
}

/**
 * The TCP or TLS side of an edge (which one is given by `sockets`). Every accepted connection,
 * and every connection opened by `connect()`, is a flow with a cluster-unique id, its own
 * StreamFramer, an idle timeout and a message timeout; connections are limited per source and,
 * with the process's other stream transport, in total (`connectionLimit`). The handler hears
 * `flowOpened`, each framed message (`streamMessage`) or invalid message (`streamError`, not
 * fatal), and `flowClosed`; CRLFCRLF pings are answered with CRLF here (RFC 5626 §4.4.1). A
 * fatal framing error is reported and the flow is then ended: a response the core sends
 * synchronously from `streamError` still goes out before the FIN.
 *
 * Socket errors (resets, handshake failures) are logged at debug level and end the flow; they
 * never throw. The transport keeps no SIP state.
 */
export class StreamTransport {
  readonly transport: 'tcp' | 'tls';
  readonly #options: StreamTransportOptions;
  readonly #logger: Logger;
  readonly #idleTimeoutMs: number;
  readonly #connections: ConnectionLimit;
  readonly #messageTimeoutMs: number;
  readonly #closeGraceMs: number;
  readonly #maxWriteBuffer: number;
  readonly #maxMessageSize: number;
  #listeners: Listener[] = [];
  readonly #flows = new Map<string, Flow>();
  /** Open flows, accepted and opened, by their remote endpoint (`connect` reuses them). */
  readonly #byRemote = new Map<string, string>();
  /** Outgoing connections being opened, by destination and TLS name: a second caller waits for the first's. */
  readonly #connecting = new Map<string, Promise<string>>();
  /** Bans, the per-source limit and the total, for accepted connections (TLS handshakes included). */
  readonly #gate: AcceptGate;
  /** Accepted connections not yet flows (TLS handshakes). */
  readonly #pending = new Set<Socket>();
  readonly #abort = new AbortController();
  #state: TransportState = 'new';
  #closing: Promise<void> | undefined;

  constructor(options: StreamTransportOptions) {
    checkEdgeId(options.edgeId); // the cluster's rule (1–64 of A–Z a–z 0–9 _ -)
    for (const endpoint of options.listen) {
      if (familyOf(endpoint.address) === undefined) {
        throw new RangeError(`${options.sockets.transport}: listen address "${endpoint.address}" is not an IP address`);
      }
    }
    this.transport = options.sockets.transport;
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ name: 'edge' }).child({ component: this.transport });
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#connections = options.connectionLimit ?? new ConnectionLimit(DEFAULT_MAX_CONNECTIONS);
    this.#gate = new AcceptGate({
      maxPerSource: options.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
      connections: this.#connections,
      ...(options.isBanned === undefined ? {} : { isBanned: options.isBanned }),
    });
    this.#messageTimeoutMs = options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    this.#closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    this.#maxWriteBuffer = options.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES;
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Listens on every configured address; fails (with nothing left listening) if any cannot be bound. */
  async start(): Promise<void> {
    const state = { get: () => this.#state, set: (next: TransportState) => (this.#state = next) };
    const close = (l: Listener) => closeServer(l.server);
    const adopt = (listeners: Listener[]) => (this.#listeners = listeners);
    await openListeners(this.transport, state, this.#options.listen, (e) => this.#listen(e), close, adopt);
    this.#logger.info({ addresses: this.addresses().map(formatEndpoint) }, `${this.transport}: listening`);
  }

  /** The listening endpoints, in the order of the configured listen addresses. */
  addresses(): Endpoint[] {
    return this.#listeners.map((l) => ({ ...l.local }));
  }

  /** Ids of the open flows (not those being closed). */
  flows(): string[] {
    return [...this.#flows.values()].filter((f) => !f.closing).map((f) => f.id);
  }

  /** An open flow's endpoints and direction; undefined when unknown or being closed. */
  flow(flowId: string): FlowInfo | undefined {
    const flow = this.#flows.get(flowId);
    if (!flow || flow.closing) return undefined;
    const { id, transport, direction, remote, local } = flow;
    return { id, transport, direction, remote: { ...remote }, local: { ...local } };
  }

  /**
   * Writes `data` on the flow (§18.2.2: responses go back on the connection the request came on).
   * Returns false when the flow is unknown, closed or being closed, or when its write queue would
   * exceed `maxWriteBufferBytes` (the flow is then destroyed). True means queued, not delivered.
   */
  send(flowId: string, data: Uint8Array): boolean {
    const flow = this.#flows.get(flowId);
    if (!flow || flow.closing || !flow.socket.writable) return false;
    return this.#write(flow, data);
  }

  /**
   * Queues `data` on an open flow, within `maxWriteBufferBytes`: everything the transport writes
   * (messages and keep-alive pongs alike) goes through here, so that a peer that sends but does
   * not read cannot make the queue grow. Beyond the bound the flow is destroyed and false returned.
   */
  #write(flow: Flow, data: Uint8Array): boolean {
    if (flow.socket.writableLength + data.length > this.#maxWriteBuffer) {
      this.#logger.warn(
        { flowId: flow.id, queued: flow.socket.writableLength, remote: formatEndpoint(flow.remote) },
        `${this.transport}: peer does not read, flow destroyed`,
      );
      flow.closing = true;
      flow.socket.destroy();
      return false;
    }
    flow.socket.write(data);
    return true;
  }

  /**
   * A connection to `destination` (an IP literal), for requests sent out over TCP/TLS and for
   * §18.2.2 (a response whose connection is gone): an open connection whose other end is
   * `destination` if there is one — one the peer opened (§18: a UA that registered or called over
   * a connection, and names its address in its Contact, is reached on it) or one this edge opened
   * before (§18.1.1: connections are reused, one per destination however many requests) — else
   * one being opened for an earlier caller, else a new one, registered as a flow exactly like an
   * accepted one (`flowOpened` is reported, what arrives on it is read). Resolves with the flow id.
   * Rejects on a connection or TLS verification failure, on timeout, once closed, or when the
   * process holds `connectionLimit` connections already (then no socket is opened).
   */
  async connect(destination: Endpoint, options: StreamConnectOptions = {}): Promise<string> {
    const open = this.#byRemote.get(formatEndpoint(destination));
    if (open !== undefined && this.flow(open) !== undefined) return open;
    const key = `${formatEndpoint(destination)} ${options.servername ?? ''}`;
    const pending = this.#connecting.get(key);
    if (pending !== undefined) return pending;
    const connecting = this.#open(destination, options);
    this.#connecting.set(key, connecting);
    try {
      return await connecting;
    } finally {
      this.#connecting.delete(key);
    }
  }

  /** Opens a new outgoing connection and makes it a flow (see `connect`). */
  async #open(destination: Endpoint, options: StreamConnectOptions): Promise<string> {
    if (this.#state !== 'open') throw new Error(`${this.transport}: cannot connect, transport is ${this.#state}`);
    if (!this.#connections.acquire()) {
      throw new Error(
        `${this.transport}: connect to ${formatEndpoint(destination)}: connection limit reached (${this.#connections.max})`,
      );
    }
    let socket: Socket;
    try {
      socket = await this.#options.sockets.connect(destination, {
        ...options,
        timeoutMs: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        signal: this.#abort.signal,
      });
    } catch (error) {
      this.#connections.release();
      throw error;
    }
    socket.once('close', () => this.#connections.release());
    if (this.#state !== 'open') {
      socket.destroy();
      throw new Error(`${this.transport}: connect to ${formatEndpoint(destination)}: transport closed`);
    }
    return this.#openFlow(socket, 'outbound').id;
  }

  /** Ends a flow gracefully (destroyed after `closeGraceMs`); false if it is unknown or already closing. */
  closeFlow(flowId: string): boolean {
    const flow = this.#flows.get(flowId);
    if (!flow || flow.closing) return false;
    this.#end(flow, 'closed by the edge');
    return true;
  }

  /**
   * Stops listening, aborts connects in progress, closes `sockets` (StreamSockets.close), drops
   * connections still in their TLS handshake and ends every flow (destroying those not closed
   * after `closeGraceMs`). Resolves when all sockets are closed (each flow's `flowClosed` has
   * been reported). Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      const listeners = this.#listeners;
      this.#listeners = [];
      this.#state = 'closed';
      this.#abort.abort();
      this.#options.sockets.close?.();
      for (const raw of this.#pending) raw.destroy();
      const flows = [...this.#flows.values()];
      for (const flow of flows) this.#end(flow, 'transport closing');
      this.#closing = Promise.all([...listeners.map((l) => closeServer(l.server)), ...flows.map((f) => f.closed)]).then(
        () => {
          if (listeners.length > 0 || flows.length > 0) this.#logger.info(`${this.transport}: closed`);
        },
      );
    }
    return this.#closing;
  }

  #listen(endpoint: Endpoint): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      const onError = (error: Error): void => {
        reject(
          new Error(`${this.transport}: cannot listen on ${formatEndpoint(endpoint)}: ${error.message}`, {
            cause: error,
          }),
        );
      };
      server.once('error', onError);
      server.listen({ host: endpoint.address, port: endpoint.port, ipv6Only: familyOf(endpoint.address) === 6 }, () => {
        server.off('error', onError);
        server.on('error', (error) => {
          this.#logger.warn({ err: error }, `${this.transport}: server error: ${messageOf(error)}`);
        });
        server.on('connection', (raw) => this.#accept(raw));
        const address = server.address();
        const local =
          address !== null && typeof address === 'object' ? endpointOf(address.address, address.port) : endpoint;
        resolve({ server, local });
      });
    });
  }

  #accept(raw: Socket): void {
    let ready = false;
    raw.on('error', (error) => {
      // Once the connection is a flow (TCP: the same socket), the flow's listener logs.
      if (!ready) this.#logger.debug({ err: error }, `${this.transport}: connection error: ${messageOf(error)}`);
    });
    const source = endpointOf(raw.remoteAddress, raw.remotePort);
    if (this.#state !== 'open' || source.address === '') {
      raw.destroy();
      return;
    }
    const refusal = this.#gate.admit(raw, source.address);
    if (refusal !== undefined) {
      this.#refuse(raw, refusal, source);
      return;
    }
    this.#pending.add(raw);
    raw.once('close', () => {
      this.#pending.delete(raw);
      if (!ready && this.#state === 'open') this.#reject('handshake-failed', source);
    });
    this.#options.sockets.accept(raw, (socket) => {
      ready = true;
      this.#pending.delete(raw);
      if (this.#state !== 'open') {
        socket.destroy();
        return;
      }
      this.#openFlow(socket, 'inbound');
    });
  }

  /** Refuses an accepted connection over a limit: destroyed at once, before any TLS work. */
  #refuse(raw: Socket, reason: GateRefusal, source: Endpoint): void {
    raw.destroy();
    this.#logger.debug({ remote: formatEndpoint(source) }, `${this.transport}: connection refused, ${reason}`);
    this.#reject(reason, source);
  }

  #reject(reason: StreamRejectReason, source: Endpoint): void {
    const onRejected = this.#options.onRejected;
    if (onRejected) callHandler(this.#logger, 'onRejected', () => onRejected(reason, source));
  }

  #openFlow(socket: Socket, direction: 'inbound' | 'outbound'): Flow {
    const flow: Flow = {
      id: newFlowId(this.#options.edgeId),
      transport: this.transport,
      direction,
      remote: endpointOf(socket.remoteAddress, socket.remotePort),
      local: endpointOf(socket.localAddress, socket.localPort),
      socket,
      framer: new StreamFramer({ maxMessageSize: this.#maxMessageSize }),
      closing: false,
      graceTimer: undefined,
      messageTimer: undefined,
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    const handler = this.#options.handler;
    this.#flows.set(flow.id, flow);
    this.#byRemote.set(formatEndpoint(flow.remote), flow.id);
    socket.setNoDelay(true);
    if (this.#idleTimeoutMs > 0) {
      socket.setTimeout(this.#idleTimeoutMs);
      socket.on('timeout', () => this.#end(flow, 'idle timeout'));
    }
    socket.on('data', (chunk: Buffer) => this.#receive(flow, chunk));
    socket.on('error', (error) => {
      this.#logger.debug({ err: error, flowId: flow.id }, `${this.transport}: flow error: ${messageOf(error)}`);
    });
    socket.once('close', () => {
      clearTimeout(flow.graceTimer);
      clearTimeout(flow.messageTimer);
      flow.closing = true;
      this.#flows.delete(flow.id);
      const remote = formatEndpoint(flow.remote);
      if (this.#byRemote.get(remote) === flow.id) this.#byRemote.delete(remote);
      this.#logger.debug({ flowId: flow.id }, `${this.transport}: flow closed`);
      callHandler(this.#logger, 'flowClosed', () => handler.flowClosed(flow.id));
    });
    this.#logger.debug(
      { flowId: flow.id, direction, remote: formatEndpoint(flow.remote), local: formatEndpoint(flow.local) },
      `${this.transport}: flow opened`,
    );
    callHandler(this.#logger, 'flowOpened', () => handler.flowOpened(flow.id, this.transport, { ...flow.remote }));
    return flow;
  }

  #receive(flow: Flow, chunk: Buffer): void {
    if (flow.closing) return;
    const receivedAt = Date.now();
    const handler = this.#options.handler;
    const arrival = (): Arrival => ({
      transport: this.transport,
      source: { ...flow.remote },
      local: { ...flow.local },
      flowId: flow.id,
      receivedAt,
    });
    let framed = false;
    // The pongs of consecutive pings go out as one write, before whatever the handler sends next.
    let pongs = 0;
    const pong = (): void => {
      if (pongs > 0) this.#write(flow, Buffer.alloc(pongs * CRLF.length, CRLF));
      pongs = 0;
    };
    for (const event of flow.framer.push(chunk)) {
      if (flow.closing) return;
      switch (event.type) {
        case 'message':
          framed = true;
          pong();
          callHandler(this.#logger, 'streamMessage', () => handler.streamMessage(event.message, arrival()));
          break;
        case 'keepalive':
          pongs += 1;
          break;
        case 'error':
          framed = true;
          pong();
          callHandler(this.#logger, 'streamError', () => handler.streamError(event.error, event.fatal, arrival()));
          if (event.fatal) this.#end(flow, `framing error: ${event.error.message}`);
          break;
      }
    }
    if (flow.closing) return;
    pong();
    this.#timeMessage(flow, framed);
  }

  /**
   * Keeps the message clock: stopped once a message is framed (`framed`) or nothing of one is
   * buffered, started when a message's first bytes are buffered and it is not running. A push
   * that completes one message and begins the next restarts it for the next.
   */
  #timeMessage(flow: Flow, framed: boolean): void {
    if (this.#messageTimeoutMs <= 0) return;
    const inMessage = flow.framer.inMessage;
    if (flow.messageTimer !== undefined && (framed || !inMessage)) {
      clearTimeout(flow.messageTimer);
      flow.messageTimer = undefined;
    }
    if (inMessage && flow.messageTimer === undefined) {
      flow.messageTimer = setTimeout(() => this.#messageTimedOut(flow), this.#messageTimeoutMs);
    }
  }

  #messageTimedOut(flow: Flow): void {
    flow.messageTimer = undefined;
    if (flow.closing) return;
    this.#logger.debug(
      { flowId: flow.id, remote: formatEndpoint(flow.remote), buffered: flow.framer.buffered },
      `${this.transport}: message not complete within ${this.#messageTimeoutMs} ms, flow closed`,
    );
    this.#end(flow, 'message timeout');
    const onMessageTimeout = this.#options.onMessageTimeout;
    if (onMessageTimeout) {
      callHandler(this.#logger, 'onMessageTimeout', () => onMessageTimeout(flow.id, { ...flow.remote }));
    }
  }

  /** Ends the flow gracefully; destroys it if it has not closed after the grace period. */
  #end(flow: Flow, reason: string): void {
    if (flow.closing) return;
    flow.closing = true;
    this.#logger.debug({ flowId: flow.id, reason }, `${this.transport}: closing flow`);
    flow.socket.end();
    flow.graceTimer = setTimeout(() => flow.socket.destroy(), this.#closeGraceMs);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
