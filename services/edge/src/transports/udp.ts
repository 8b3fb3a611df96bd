import { createSocket, type Socket } from 'node:dgram';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { formatEndpoint } from '@sipedge/net';
import { endpointOf, familyOf, type AddressFamily } from './endpoint.js';
import { type TransportState, callHandler, messageOf, openListeners } from './internal.js';
import type { Endpoint, TransportHandler } from './types.js';
import type { UdpQueueProbe } from './udp-queue-probe.js';
import { DatagramBatch } from './udp-send-batch.js';

export interface UdpTransportOptions {
  /**
   * Addresses to bind, one socket each: IPv4 (`0.0.0.0`, `192.0.2.1`) and IPv6 (`::`, bound
   * IPv6-only so that `0.0.0.0:5060` and `[::]:5060` can both be bound). Port 0 picks a free port
   * (see `addresses()`).
   */
  listen: Endpoint[];
  handler: TransportHandler;
  /** SO_RCVBUF asked for (default 4 MiB); the kernel may cap it (Linux: `net.core.rmem_max`). */
  recvBufferSize?: number;
  /** SO_SNDBUF asked for (default 1 MiB); the kernel may cap it (Linux: `net.core.wmem_max`). */
  sendBufferSize?: number;
  /** Measures the receive queue's wait by probes through the first socket (overload control). */
  queueProbe?: UdpQueueProbe;
  logger?: Logger;
}

const DEFAULT_RECV_BUFFER_SIZE = 4 * 1024 * 1024;
const DEFAULT_SEND_BUFFER_SIZE = 1024 * 1024;

interface Bound {
  socket: Socket;
  family: AddressFamily;
  /** The bound address and port (the real port when 0 was configured). */
  local: Endpoint;
}

/**
 * The UDP listeners of an edge: one dgram socket per configured address. Every datagram (up to
 * 65,535 bytes, §18.1.1) goes unparsed to `handler.datagram` with its source and the local endpoint it
 * arrived on. `send` goes out from a listening socket, so that the source port of what the edge
 * sends is its listening port (symmetric UDP, RFC 3581 §4).
 *
 * The local endpoint of an arrival is the bound address: for a wildcard bind (`0.0.0.0`, `::`)
 * that is the wildcard, not the address the datagram was sent to (Node has no IP_PKTINFO).
 */
export class UdpTransport {
  readonly transport = 'udp' as const;
  readonly #options: UdpTransportOptions;
  readonly #logger: Logger;
  #bound: Bound[] = [];
  /** What `send` is asked for, written at the end of each turn of the event loop. */
  readonly #batch = new DatagramBatch();
  #state: TransportState = 'new';
  #closing: Promise<void> | undefined;

  constructor(options: UdpTransportOptions) {
    if (options.listen.length === 0) throw new RangeError('udp: no listen address configured');
    for (const endpoint of options.listen) {
      if (familyOf(endpoint.address) === undefined) {
        throw new RangeError(`udp: listen address "${endpoint.address}" is not an IP address`);
      }
    }
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ name: 'edge' }).child({ component: 'udp' });
  }

  /** Binds every listen address; fails (with nothing left bound) if any of them cannot be bound. */
  async start(): Promise<void> {
    const state = { get: () => this.#state, set: (next: TransportState) => (this.#state = next) };
    const close = (b: Bound) => closeSocket(b.socket);
    const adopt = (bound: Bound[]) => (this.#bound = bound);
    await openListeners('udp', state, this.#options.listen, (e) => this.#bind(e), close, adopt);
    for (const b of this.#bound) this.#listen(b);
    this.#startProbe(this.#bound[0]!);
    this.#logger.info({ addresses: this.addresses().map(formatEndpoint) }, 'udp: listening');
  }

  /** The bound endpoints, in the order of the configured listen addresses. */
  addresses(): Endpoint[] {
    return this.#bound.map((b) => ({ ...b.local }));
  }

  /**
   * Sends one datagram to `destination` (an IP literal, no DNS here) from a listening socket of
   * its address family that can reach it (`#socketFor`), or from the socket bound exactly to `from`
   * when given (e.g. the `local` endpoint of the request being answered). Rejects when there is no such socket, when
   * the transport is not open, or when the kernel refuses the datagram (e.g. EMSGSIZE). The datagram
   * leaves with the others of this turn of the event loop, at its end (`DatagramBatch`).
   */
  send(data: Uint8Array, destination: Endpoint, from?: Endpoint): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new Error(`udp: cannot send, transport is ${this.#state}`));
    const family = familyOf(destination.address);
    if (family === undefined) {
      return Promise.reject(new Error(`udp: cannot send to "${destination.address}": not an IP address`));
    }
    if (!Number.isInteger(destination.port) || destination.port < 1 || destination.port > 65535) {
      return Promise.reject(new Error(`udp: cannot send to ${formatEndpoint(destination)}: bad port`));
    }
    const bound = from
      ? this.#bound.find((b) => b.family === family && b.local.address === from.address && b.local.port === from.port)
      : this.#socketFor(destination.address, family);
    if (!bound) {
      const wanted = from ? `bound to ${formatEndpoint(from)}` : `of family IPv${family}`;
      return Promise.reject(
        new Error(`udp: cannot send to ${formatEndpoint(destination)}: no listening socket ${wanted}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#batch.add({
        socket: bound.socket,
        data,
        port: destination.port,
        address: destination.address,
        done: (error) => {
          if (error) {
            reject(new Error(`udp: send to ${formatEndpoint(destination)} failed: ${error.message}`, { cause: error }));
          } else {
            resolve();
          }
        },
      });
    });
  }

  /**
   * The socket to send from when none is named: one bound to the wildcard address, else one on
   * the loopback for a loopback destination and off it for any other (a socket bound to 127.0.0.1
   * cannot send to another host), else the first of the family.
   */
  #socketFor(destination: string, family: AddressFamily): Bound | undefined {
    const sockets = this.#bound.filter((b) => b.family === family);
    const loopback = isLoopback(destination);
    return (
      sockets.find((b) => b.local.address === '0.0.0.0' || b.local.address === '::') ??
      sockets.find((b) => isLoopback(b.local.address) === loopback) ??
      sockets[0]
    );
  }

  /** The probe goes to the first socket's own address (its family's loopback for a wildcard bind). */
  #startProbe({ socket, local, family }: Bound): void {
    const wildcard = local.address === '0.0.0.0' || local.address === '::';
    const to = wildcard ? (family === 6 ? '::1' : '127.0.0.1') : local.address;
    this.#options.queueProbe?.start((probe) => {
      socket.send(probe, local.port, to, (error) => {
        if (error) this.#logger.debug({ err: error }, 'udp: queue probe not sent');
      });
    });
  }

  /** Closes every socket; idempotent. */
  close(): Promise<void> {
    this.#options.queueProbe?.stop();
    if (!this.#closing) {
      const bound = this.#bound;
      this.#bound = [];
      this.#state = 'closed';
      // What was asked for before the close still goes out.
      const sent = this.#batch.flush();
      this.#closing = sent
        .then(() => Promise.all(bound.map((b) => closeSocket(b.socket))))
        .then(() => {
          if (bound.length > 0) this.#logger.info('udp: closed');
        });
    }
    return this.#closing;
  }

  #bind(endpoint: Endpoint): Promise<Bound> {
    const family = familyOf(endpoint.address)!;
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
      const onError = (error: Error): void => {
        void closeSocket(socket);
        reject(new Error(`udp: cannot bind ${formatEndpoint(endpoint)}: ${error.message}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.bind({ address: endpoint.address, port: endpoint.port }, () => {
        socket.off('error', onError);
        this.#setBufferSizes(socket);
        const address = socket.address();
        resolve({ socket, family, local: endpointOf(address.address, address.port) });
      });
    });
  }

  /** Buffer sizes are set after bind, where a refusal can be logged instead of thrown. */
  #setBufferSizes(socket: Socket): void {
    try {
      socket.setRecvBufferSize(this.#options.recvBufferSize ?? DEFAULT_RECV_BUFFER_SIZE);
      socket.setSendBufferSize(this.#options.sendBufferSize ?? DEFAULT_SEND_BUFFER_SIZE);
    } catch (error) {
      this.#logger.warn({ err: error }, 'udp: cannot set socket buffer sizes');
    }
    this.#logger.debug(
      { recvBufferSize: socket.getRecvBufferSize(), sendBufferSize: socket.getSendBufferSize() },
      'udp: socket buffer sizes',
    );
  }

  #listen({ socket, local }: Bound): void {
    const handler = this.#options.handler;
    const probe = this.#options.queueProbe;
    socket.on('message', (data, remote) => {
      if (data[0] === 0 && probe?.received(data, Date.now()) === true) return;
      const arrival = {
        transport: 'udp' as const,
        source: endpointOf(remote.address, remote.port),
        local,
        receivedAt: Date.now(),
      };
      callHandler(this.#logger, 'datagram', () => handler.datagram(data, arrival));
    });
    socket.on('error', (error) => {
      this.#logger.warn({ err: error, local: formatEndpoint(local) }, `udp: socket error: ${messageOf(error)}`);
    });
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
