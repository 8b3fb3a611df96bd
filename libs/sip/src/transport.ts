/**
 * The transports a SIP message travels on, as written in a `transport` URI parameter (§19.1.1):
 * UDP, TCP and TLS (§18), and WebSocket, plain and secure (RFC 7118). A Via names them in upper
 * case (`SIP/2.0/WSS`, §20.42, RFC 7118 §5.2).
 */
export type Transport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/**
 * The transports a URI resolves to (RFC 3263 §4.1): a WebSocket client is never resolved, only
 * reached on the connection it opened (RFC 7118 §5).
 */
export type ResolvableTransport = Exclude<Transport, 'ws' | 'wss'>;

export function isTransport(value: unknown): value is Transport {
  return TRANSPORTS.includes(value as Transport);
}

/** WS or WSS (RFC 7118): reached only over a connection the client opened. */
export function isWebSocket(transport: Transport): transport is 'ws' | 'wss' {
  return transport === 'ws' || transport === 'wss';
}

/** Carried over TLS: TLS and WSS. */
export function isSecureTransport(transport: Transport): boolean {
  return transport === 'tls' || transport === 'wss';
}
