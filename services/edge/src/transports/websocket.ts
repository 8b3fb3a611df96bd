import { isUtf8 } from 'node:buffer';
import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkEdgeId } from '@sipedge/handoff';
import { CidrSet } from '@sipedge/net';
import { DEFAULT_MAX_MESSAGE_SIZE, SipParseError, parseMessage } from '@sipedge/sip';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { type WebSocket, WebSocketServer } from 'ws';
import { AcceptGate, type GateRefusal } from './accept-gate.js';
import { ConnectionLimit } from './connection-limit.js';
import { formatEndpoint } from '@sipedge/net';
import { endpointOf, familyOf } from './endpoint.js';
import { newFlowId } from './flow-id.js';
import { type TransportState, callHandler, messageOf, openListeners } from './internal.js';
import type { StreamSockets } from './stream-sockets.js';
import type { Arrival, Endpoint, TransportHandler } from './types.js';

/** The WebSocket subprotocol of SIP (RFC 7118 §4.1). */
export const SIP_SUBPROTOCOL = 'sip';

/**
 * Why an accepted connection never became a flow: refused at once (bans, limits), its TLS handshake
 * or HTTP upgrade not completed in time or broken (`handshake-failed`), an Origin not on the
 * allow-list, no `sip` subprotocol offered (RFC 7118 §4.1), or a plain HTTP request.
 */
export type WebSocketRejectReason =
  GateRefusal | 'handshake-failed' | 'bad-origin' | 'no-sip-subprotocol' | 'not-websocket';

export interface WebSocketTransportOptions {
  /** WS over TCP (`tcpSockets()`) or WSS over TLS (the edge's TLS sockets). */
  transport: 'ws' | 'wss';
  sockets: StreamSockets;
  /** This edge's id, part of every flow id. */
  edgeId: string;
  /** Addresses to listen on (port 0: a free port, see `addresses()`). */
  listen: Endpoint[];
  handler: TransportHandler;
  /** Largest WebSocket message (one SIP message) accepted; a larger one closes the flow with 1009. Default 65535. */
  maxMessageSize?: number;
  /** Accepted connections at once from one client address (default 100). */
  maxConnectionsPerSource?: number;
  /** Connections at once, shared with the process's other connection transports (default: 5,000 of its own). */
  connectionLimit?: ConnectionLimit;
  /** Sources refused at once (the fleet's bans). */
  isBanned?: (address: string) => boolean;
  /** Called for every accepted connection that did not become a flow (for metrics). */
  onRejected?: (reason: WebSocketRejectReason, source: Endpoint) => void;
  /**
   * Origins a browser may connect from (`https://app.example.com`, compared without case); empty:
   * any. A handshake without an Origin (not a browser) is not affected.
   */
  origins?: readonly string[];
  /**
   * Load balancers and ingress proxies (CIDRs) trusted to name the client in `X-Forwarded-For`:
   * from one of them the client is the right-most address of that header not itself trusted. From
   * any other source the header is ignored.
   */
  trustedProxies?: readonly string[];
  /**
   * A WebSocket ping goes to every flow this often; a flow that has not answered the previous one
   * by the next is closed (default 30 s; 0: never).
   */
  pingIntervalMs?: number;
  /** An accepted connection must complete its TLS handshake and HTTP upgrade within this long (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Bytes a flow may have queued for writing; a `send` beyond this closes the flow (default 1 MiB). */
  maxWriteBufferBytes?: number;
  /** A flow being closed gets this long to close cleanly before it is destroyed (default 2 s). */
  closeGraceMs?: number;
  logger?: Logger;
}

const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 100;
const DEFAULT_MAX_CONNECTIONS = 5_000;
const DEFAULT_PING_INTERVAL_MS = 30_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_WRITE_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_CLOSE_GRACE_MS = 2000;
/** RFC 6455 §7.4.1 close codes. */
const GOING_AWAY = 1001;
const NORMAL = 1000;
/** A SIP keep-alive in a WebSocket message (RFC 5626 §4.4.1 framing, as SIP.js sends it) and its pong. */
const PING = '\r\n\r\n';
const PONG = Buffer.from('\r\n');

/** A listening server and the endpoint it is bound to. */
interface Listener {
  server: Server;
  local: Endpoint;
}

interface Flow {
  id: string;
  ws: WebSocket;
  socket: Duplex;
  remote: Endpoint;
  local: Endpoint;
  closing: boolean;
  /** The last ping was answered. */
  alive: boolean;
  graceTimer: NodeJS.Timeout | undefined;
}

/** An accepted connection on its way to a flow. */
interface Pending {
  raw: Socket;
  source: Endpoint;
  local: Endpoint;
  timer: NodeJS.Timeout;
  /** The handshake's outcome is known (upgraded, or refused and reported): its close is not a failure. */
  decided: boolean;
}

/**
 * SIP over WebSocket (RFC 7118), WS or WSS, for browser UAs. Each connection the `ws` library
 * upgrades (`sip` subprotocol required, Origin on the allow-list) is a flow like a TCP one: a
 * cluster-unique id, `flowOpened`/`flowClosed`, counted per client address and in the process's
 * total. Each WebSocket message is one SIP message (RFC 7118 §5), parsed here and reported as
 * `streamMessage`, or as a non-fatal `streamError` (the core answers 400 when it can) when it is
 * not one well-formed message; a message over `maxMessageSize` closes the flow (1009). Flows are
 * pinged; one that stops answering is closed. A browser cannot accept connections, so this
 * transport never opens one: it reaches a client only on the flow the client opened.
 */
export class WebSocketTransport {
  readonly transport: 'ws' | 'wss';
  readonly #options: WebSocketTransportOptions;
  readonly #logger: Logger;
  readonly #gate: AcceptGate;
  readonly #trusted: CidrSet;
  readonly #origins: ReadonlySet<string>;
  readonly #maxMessageSize: number;
  readonly #maxWriteBuffer: number;
  readonly #closeGraceMs: number;
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  readonly #pending = new Map<Duplex, Pending>();
  readonly #flows = new Map<string, Flow>();
  #listeners: Listener[] = [];
  #pinger: NodeJS.Timeout | undefined;
  #state: TransportState = 'new';
  #closing: Promise<void> | undefined;

  constructor(options: WebSocketTransportOptions) {
    checkEdgeId(options.edgeId);
    for (const endpoint of options.listen) {
      if (familyOf(endpoint.address) === undefined) {
        throw new RangeError(`${options.transport}: listen address "${endpoint.address}" is not an IP address`);
      }
    }
    this.transport = options.transport;
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ name: 'edge' }).child({ component: this.transport });
    this.#gate = new AcceptGate({
      maxPerSource: options.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
      connections: options.connectionLimit ?? new ConnectionLimit(DEFAULT_MAX_CONNECTIONS),
      ...(options.isBanned === undefined ? {} : { isBanned: options.isBanned }),
    });
    this.#trusted = new CidrSet(options.trustedProxies ?? [], `${this.transport} trusted proxies`);
    this.#origins = new Set((options.origins ?? []).map((o) => o.toLowerCase()));
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxWriteBuffer = options.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES;
    this.#closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.#maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
    // Never listens: it reads the HTTP upgrade of the connections the transport has admitted.
    this.#http = createHttpServer({ maxHeaderSize: 16 * 1024 });
    this.#http.on('request', (_req, res) => {
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
      res.end('SIP over WebSocket (RFC 7118) only\n');
      const pending = this.#pending.get(res.socket!);
      if (pending !== undefined && !pending.decided) {
        pending.decided = true;
        this.#reject('not-websocket', pending.source);
      }
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#http.on('clientError', (_error, socket: Duplex) => socket.destroy());
  }

  /** Listens on every configured address; fails (with nothing left listening) if any cannot be bound. */
  async start(): Promise<void> {
    const state = { get: () => this.#state, set: (next: TransportState) => (this.#state = next) };
    const close = (l: Listener) => closeServer(l.server);
    const adopt = (listeners: Listener[]) => (this.#listeners = listeners);
    await openListeners(this.transport, state, this.#options.listen, (e) => this.#listen(e), close, adopt);
    const interval = this.#options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    if (interval > 0) {
      this.#pinger = setInterval(() => this.#ping(), interval);
      this.#pinger.unref();
    }
    this.#logger.info({ addresses: this.addresses().map(formatEndpoint) }, `${this.transport}: listening`);
  }

  addresses(): Endpoint[] {
    return this.#listeners.map((l) => ({ ...l.local }));
  }

  /** Ids of the open flows. */
  flows(): string[] {
    return [...this.#flows.values()].filter((f) => !f.closing).map((f) => f.id);
  }

  /** An open flow's endpoints (the client as `remote`); undefined when unknown or closing. */
  flow(flowId: string): { id: string; transport: 'ws' | 'wss'; remote: Endpoint; local: Endpoint } | undefined {
    const flow = this.#flows.get(flowId);
    if (flow === undefined || flow.closing) return undefined;
    return { id: flow.id, transport: this.transport, remote: { ...flow.remote }, local: { ...flow.local } };
  }

  /**
   * Sends one SIP message as one WebSocket message (RFC 7118 §5: a text message when it is UTF-8,
   * else binary). False when the flow is unknown or closing, or when its write queue would pass
   * `maxWriteBufferBytes` (the flow is then closed).
   */
  send(flowId: string, data: Uint8Array): boolean {
    const flow = this.#flows.get(flowId);
    if (flow === undefined || flow.closing || flow.ws.readyState !== flow.ws.OPEN) return false;
    if (flow.ws.bufferedAmount + data.length > this.#maxWriteBuffer) {
      this.#logger.warn(
        { flowId, queued: flow.ws.bufferedAmount },
        `${this.transport}: peer does not read, flow closed`,
      );
      this.#destroy(flow);
      return false;
    }
    flow.ws.send(data, { binary: !isUtf8(data) });
    return true;
  }

  /** A browser accepts no connections: a WebSocket client is reached only on the flow it opened. */
  connect(destination: Endpoint): Promise<string> {
    return Promise.reject(
      new Error(
        `${this.transport}: cannot connect to ${formatEndpoint(destination)}: clients are reached on their own flows`,
      ),
    );
  }

  /** Closes a flow (1000); false if it is unknown or already closing. */
  closeFlow(flowId: string): boolean {
    const flow = this.#flows.get(flowId);
    if (flow === undefined || flow.closing) return false;
    this.#end(flow, NORMAL, 'closed by the edge');
    return true;
  }

  /** Stops listening and closes every flow (1001, going away). Resolves when all are closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#state = 'closed';
      clearInterval(this.#pinger);
      for (const { raw, timer } of this.#pending.values()) {
        clearTimeout(timer);
        raw.destroy();
      }
      const flows = [...this.#flows.values()];
      const closed = flows.map((flow) => new Promise<void>((resolve) => flow.socket.once('close', () => resolve())));
      for (const flow of flows) this.#end(flow, GOING_AWAY, 'edge shutting down');
      this.#closing = Promise.all([...this.#listeners.map((l) => closeServer(l.server)), ...closed]).then(() => {
        this.#wss.close();
        this.#logger.info(`${this.transport}: closed`);
      });
      this.#listeners = [];
    }
    return this.#closing;
  }

  #listen(endpoint: Endpoint): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      server.once('error', (error) =>
        reject(
          new Error(`${this.transport}: cannot listen on ${formatEndpoint(endpoint)}: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      server.listen({ host: endpoint.address, port: endpoint.port, ipv6Only: familyOf(endpoint.address) === 6 }, () => {
        server.removeAllListeners('error');
        server.on('error', (error) => this.#logger.warn({ err: error }, `${this.transport}: server error`));
        server.on('connection', (raw) => this.#accept(raw));
        const address = server.address();
        resolve({
          server,
          local: address !== null && typeof address === 'object' ? endpointOf(address.address, address.port) : endpoint,
        });
      });
    });
  }

  /**
   * An accepted connection: bans and limits first (from a trusted proxy the client is not known
   * yet, so its per-source count waits for the upgrade), then TLS (WSS), then the HTTP upgrade,
   * all within `handshakeTimeoutMs`.
   */
  #accept(raw: Socket): void {
    raw.on('error', (error) =>
      this.#logger.debug({ err: error }, `${this.transport}: connection error: ${messageOf(error)}`),
    );
    const source = endpointOf(raw.remoteAddress, raw.remotePort);
    const local = endpointOf(raw.localAddress, raw.localPort);
    if (this.#state !== 'open' || source.address === '') {
      raw.destroy();
      return;
    }
    const refusal = this.#gate.admit(raw, source.address, !this.#trusted.has(source.address));
    if (refusal !== undefined) {
      raw.destroy();
      this.#reject(refusal, source);
      return;
    }
    const timer = setTimeout(() => raw.destroy(), this.#options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const pending: Pending = { raw, source, local, timer, decided: false };
    raw.once('close', () => {
      clearTimeout(timer);
      if (!pending.decided && this.#state === 'open') this.#reject('handshake-failed', source);
    });
    this.#options.sockets.accept(raw, (socket) => {
      if (this.#state !== 'open') {
        socket.destroy();
        return;
      }
      this.#pending.set(socket, pending);
      socket.once('close', () => this.#pending.delete(socket));
      this.#http.emit('connection', socket);
    });
  }

  /** The HTTP upgrade (RFC 6455 §4.2): the client behind a trusted proxy, its Origin, the `sip` subprotocol. */
  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pending = this.#pending.get(socket);
    if (pending === undefined || this.#state !== 'open') {
      socket.destroy();
      return;
    }
    const client = this.#clientOf(req, pending.source);
    if (client === undefined)
      return this.#refuseUpgrade(socket, 400, 'Bad X-Forwarded-For', 'handshake-failed', pending.source);
    if (client.address !== pending.source.address) {
      const refusal = this.#gate.countSource(pending.raw, client.address);
      if (refusal !== undefined) return this.#refuseUpgrade(socket, 403, 'Forbidden', refusal, client);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && this.#origins.size > 0 && !this.#origins.has(origin.toLowerCase())) {
      return this.#refuseUpgrade(socket, 403, 'Origin Not Allowed', 'bad-origin', client);
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim().toLowerCase());
    if (!offered.includes(SIP_SUBPROTOCOL)) {
      return this.#refuseUpgrade(socket, 400, 'The sip Subprotocol Is Required', 'no-sip-subprotocol', client);
    }
    clearTimeout(pending.timer);
    pending.decided = true;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#openFlow(ws, socket, client, pending.local));
  }

  /**
   * The client a handshake comes from: its socket's peer, or behind a trusted proxy the right-most
   * `X-Forwarded-For` address that is not itself a trusted proxy. Undefined when that header, from a
   * trusted proxy, holds something that is not an IP address.
   */
  #clientOf(req: IncomingMessage, peer: Endpoint): Endpoint | undefined {
    if (!this.#trusted.has(peer.address)) return peer;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',').map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const address = endpointOf(hops[i], 0).address;
      if (familyOf(address) === undefined) return undefined;
      if (!this.#trusted.has(address)) return { address, port: peer.port };
    }
    return peer;
  }

  #refuseUpgrade(socket: Duplex, status: number, reason: string, why: WebSocketRejectReason, source: Endpoint): void {
    const pending = this.#pending.get(socket);
    if (pending !== undefined) pending.decided = true;
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), this.#closeGraceMs).unref();
    this.#logger.debug({ remote: formatEndpoint(source), reason: why }, `${this.transport}: upgrade refused`);
    this.#reject(why, source);
  }

  #reject(reason: WebSocketRejectReason, source: Endpoint): void {
    const onRejected = this.#options.onRejected;
    if (onRejected !== undefined) callHandler(this.#logger, 'onRejected', () => onRejected(reason, { ...source }));
  }

  #openFlow(ws: WebSocket, socket: Duplex, remote: Endpoint, local: Endpoint): void {
    const flow: Flow = {
      id: newFlowId(this.#options.edgeId),
      ws,
      socket,
      remote,
      local,
      closing: false,
      alive: true,
      graceTimer: undefined,
    };
    const handler = this.#options.handler;
    this.#flows.set(flow.id, flow);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.#receive(flow, toBuffer(data)));
    ws.on('pong', () => {
      flow.alive = true;
    });
    ws.on('error', (error) => {
      // ws closes the flow itself after a protocol error (1002) or an oversize message (1009).
      this.#logger.debug({ err: error, flowId: flow.id }, `${this.transport}: flow error: ${messageOf(error)}`);
    });
    ws.once('close', (code: number) => {
      clearTimeout(flow.graceTimer);
      flow.closing = true;
      this.#flows.delete(flow.id);
      this.#logger.debug({ flowId: flow.id, code }, `${this.transport}: flow closed`);
      callHandler(this.#logger, 'flowClosed', () => handler.flowClosed(flow.id));
    });
    this.#logger.debug({ flowId: flow.id, remote: formatEndpoint(remote) }, `${this.transport}: flow opened`);
    callHandler(this.#logger, 'flowOpened', () => handler.flowOpened(flow.id, this.transport, { ...remote }));
  }

  /** One WebSocket message: one SIP message (RFC 7118 §5), or a CRLFCRLF keep-alive answered with CRLF. */
  #receive(flow: Flow, data: Buffer): void {
    if (flow.closing) return;
    flow.alive = true;
    if (data.length === PING.length && data.toString('latin1') === PING) {
      this.send(flow.id, PONG);
      return;
    }
    const arrival: Arrival = {
      transport: this.transport,
      source: { ...flow.remote },
      local: { ...flow.local },
      flowId: flow.id,
      receivedAt: Date.now(),
    };
    const handler = this.#options.handler;
    let message;
    try {
      message = parseMessage(data, { framing: 'websocket', maxSize: this.#maxMessageSize });
    } catch (error) {
      if (!(error instanceof SipParseError)) throw error;
      callHandler(this.#logger, 'streamError', () => handler.streamError(error, false, arrival));
      return;
    }
    callHandler(this.#logger, 'streamMessage', () => handler.streamMessage(message, arrival));
  }

  /** Pings every flow; one that has not answered since the last ping is closed. */
  #ping(): void {
    for (const flow of this.#flows.values()) {
      if (flow.closing) continue;
      if (!flow.alive) {
        this.#logger.debug({ flowId: flow.id }, `${this.transport}: no pong, flow closed`);
        this.#destroy(flow);
        continue;
      }
      flow.alive = false;
      flow.ws.ping();
    }
  }

  #end(flow: Flow, code: number, reason: string): void {
    if (flow.closing) return;
    flow.closing = true;
    this.#logger.debug({ flowId: flow.id, reason }, `${this.transport}: closing flow`);
    flow.ws.close(code);
    flow.graceTimer = setTimeout(() => flow.ws.terminate(), this.#closeGraceMs);
  }

  #destroy(flow: Flow): void {
    flow.closing = true;
    flow.ws.terminate();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
