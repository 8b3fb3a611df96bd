import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type SecureVersion, type TLSSocket } from 'node:tls';
import type { Logger } from '@sipedge/telemetry';
import { formatEndpoint } from '@sipedge/net';
import { familyOf } from './endpoint.js';
import { messageOf } from './internal.js';
import { type TlsCredentials, tlsContexts, tlsProtocol } from './tls-credentials.js';
import type { Endpoint } from './types.js';

/** Options of one outgoing connection. */
export interface StreamConnectOptions {
  /**
   * TLS: the name to send as SNI and to check the server certificate against (RFC 5922: the
   * domain of the SIP URI). Defaults to `TlsSettings.client.servername`, then to no SNI with the
   * certificate checked against the destination IP address. Ignored by TCP.
   */
  servername?: string;
}

/** What StreamSockets.connect gets from the transport. */
export interface OpenOptions extends StreamConnectOptions {
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * The part of a stream transport that differs between TCP and TLS (the "server factory" of a
 * StreamTransport). The transport accepts plain TCP connections itself (so that it can count and
 * refuse them before any TLS work) and hands each accepted one to `accept`.
 */
export interface StreamSockets {
  readonly transport: 'tcp' | 'tls';
  /**
   * Makes an accepted connection ready to carry SIP and passes the socket to use to `ready`: the
   * same socket for TCP (at once), the TLS socket after a completed handshake for TLS. If the
   * connection fails first, `ready` is never called and the raw socket closes.
   */
  accept(raw: Socket, ready: (socket: Socket) => void): void;
  /** Opens an outgoing connection; resolves once it can carry SIP (TLS: handshake done, peer verified). */
  connect(destination: Endpoint, options: OpenOptions): Promise<Socket>;
  /** Releases what the sockets hold beyond connections (e.g. watched certificate files); called by the transport's close(). */
  close?(): void;
}

/** Plain TCP. */
export function tcpSockets(): StreamSockets {
  return {
    transport: 'tcp',
    accept: (raw, ready) => ready(raw),
    connect: (destination, options) =>
      open(
        'tcp',
        () => netConnect({ host: destination.address, port: destination.port }),
        'connect',
        destination,
        options,
      ),
  };
}

/**
 * The TLS side: its credentials (certificate, SNI certificates, CA; replaceable while running, see
 * TlsSockets.update) and how it negotiates.
 */
export interface TlsSettings extends TlsCredentials {
  /** Lowest protocol version accepted, both directions (default TLSv1.2). */
  minVersion?: SecureVersion;
  /** OpenSSL cipher list, both directions (TLS 1.3 suites may be included); default Node's. */
  ciphers?: string;
  /** An accepted connection that has not completed its handshake by then is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  server?: {
    /**
     * Ask clients for a certificate (mutual TLS; default false). A client that presents one that
     * does not verify against `ca` is refused, whatever `rejectUnauthorized` says.
     */
    requestCert?: boolean;
    /** With `requestCert`: refuse clients without a certificate that verifies against `ca` (default true). */
    rejectUnauthorized?: boolean;
  };
  client?: {
    /** Verify the server's chain against `ca` and its name (default true). */
    rejectUnauthorized?: boolean;
    /** Default SNI / certificate name for `connect()` (see StreamConnectOptions.servername). */
    servername?: string;
    /** Present `key`/`cert` to servers that request a client certificate (default true). */
    presentCertificate?: boolean;
  };
}

/** TLS StreamSockets whose credentials can be replaced while they run. */
export interface TlsSockets extends StreamSockets {
  readonly transport: 'tls';
  /**
   * Serves `credentials` to the next clients (certificate, SNI certificates, CA) and presents them
   * on the next outgoing connections; connections already open keep theirs. Throws a
   * TlsCredentialsError, changing nothing, when they are not usable.
   */
  update(credentials: TlsCredentials): void;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * TLS over the accepted TCP connections: each one is injected into a TLS server that never
 * listens itself (`server.emit('connection')`, as node:tls documents), whose `secureConnection`
 * gives the TLS socket back, matched to its connection by address and port of both ends. The
 * certificate is chosen by the client's SNI (`SNICallback`, see TlsContexts.forServername);
 * `update` swaps the default context (`server.setSecureContext`) and the SNI contexts together.
 */
export function tlsSockets(settings: TlsSettings, logger: Logger): TlsSockets {
  const protocol = tlsProtocol(settings);
  let contexts = tlsContexts(settings, protocol);
  const requestCert = settings.server?.requestCert ?? false;
  const server = createTlsServer({
    ...contexts.server,
    SNICallback: (servername, done) => done(null, contexts.forServername(servername)),
    requestCert,
    rejectUnauthorized: settings.server?.rejectUnauthorized ?? true,
    handshakeTimeout: settings.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  });
  const waiting = new Map<string, (socket: Socket) => void>();
  server.on('secureConnection', (socket: TLSSocket) => {
    const key = connectionKey(socket);
    const ready = waiting.get(key);
    waiting.delete(key);
    if (requestCert && !socket.authorized && presentedCertificate(socket)) {
      logger.debug(
        { remote: socket.remoteAddress, port: socket.remotePort, reason: String(socket.authorizationError) },
        'tls: client certificate does not verify, connection refused',
      );
      socket.destroy();
    } else if (ready) ready(socket);
    else socket.destroy(); // its TCP connection is gone already
  });
  server.on('tlsClientError', (error, socket) => {
    logger.debug(
      { err: error, remote: socket.remoteAddress, port: socket.remotePort },
      `tls: handshake failed: ${messageOf(error)}`,
    );
  });
  const presentCertificate = settings.client?.presentCertificate ?? true;
  return {
    transport: 'tls',
    accept(raw, ready) {
      const key = connectionKey(raw);
      waiting.set(key, ready);
      raw.once('close', () => {
        if (waiting.get(key) === ready) waiting.delete(key);
      });
      server.emit('connection', raw);
    },
    connect(destination, options) {
      const servername = options.servername ?? settings.client?.servername;
      const { key, cert, ca } = contexts.client;
      return open(
        'tls',
        () =>
          tlsConnect({
            host: destination.address,
            port: destination.port,
            // An IP address is not a valid SNI name (RFC 6066 §3); the certificate is then checked
            // against the destination address.
            servername: servername !== undefined && familyOf(servername) === undefined ? servername : undefined,
            ca,
            key: presentCertificate ? key : undefined,
            cert: presentCertificate ? cert : undefined,
            ...protocol,
            rejectUnauthorized: settings.client?.rejectUnauthorized ?? true,
          }),
        'secureConnect',
        destination,
        options,
      ).then((socket) => {
        const tlsSocket = socket as TLSSocket;
        if (!tlsSocket.authorized) {
          logger.warn(
            { remote: formatEndpoint(destination), reason: String(tlsSocket.authorizationError) },
            'tls: connected to a server whose certificate does not verify (client.rejectUnauthorized is false)',
          );
        }
        return socket;
      });
    },
    update(credentials) {
      const next = tlsContexts(credentials, protocol);
      server.setSecureContext(next.server);
      contexts = next;
    },
  };
}

/** Whether the client sent a certificate (an empty object when it did not). */
function presentedCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

/** Opens a socket and waits for `readyEvent`, an error, the timeout or the abort signal. */
function open(
  transport: 'tcp' | 'tls',
  create: () => Socket,
  readyEvent: 'connect' | 'secureConnect',
  destination: Endpoint,
  options: OpenOptions,
): Promise<Socket> {
  const where = `${transport}: connect to ${formatEndpoint(destination)}`;
  if (familyOf(destination.address) === undefined) {
    return Promise.reject(new Error(`${where}: not an IP address`));
  }
  if (options.signal.aborted) return Promise.reject(new Error(`${where}: transport closed`));
  return new Promise((resolve, reject) => {
    const socket = create();
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new Error(`${where}: ${reason}`, { cause }));
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onAbort = (): void => fail('transport closed');
    const timer = setTimeout(() => fail(`no connection after ${options.timeoutMs} ms`), options.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off(readyEvent, onReady);
      options.signal.removeEventListener('abort', onAbort);
      // Errors after a failure (e.g. a late reset) must not be unhandled.
      socket.on('error', () => {});
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once(readyEvent, onReady);
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
