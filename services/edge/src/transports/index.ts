export type { Arrival, Endpoint, TransportHandler } from './types.js';
export { UdpTransport, type UdpTransportOptions } from './udp.js';
export { UdpQueueProbe } from './udp-queue-probe.js';
export { StreamTransport, type StreamTransportOptions, type StreamRejectReason, type FlowInfo } from './stream.js';
export { ConnectionLimit } from './connection-limit.js';
export { AcceptGate, type GateRefusal } from './accept-gate.js';
export {
  WebSocketTransport,
  SIP_SUBPROTOCOL,
  type WebSocketTransportOptions,
  type WebSocketRejectReason,
} from './websocket.js';
export {
  tcpSockets,
  tlsSockets,
  type StreamSockets,
  type StreamConnectOptions,
  type OpenOptions,
  type TlsSettings,
  type TlsSockets,
} from './stream-sockets.js';
export {
  checkTlsProtocol,
  tlsProtocol,
  TlsCredentialsError,
  type CertifiedKey,
  type TlsCredentials,
  type TlsProtocol,
} from './tls-credentials.js';
export { readTlsFiles, type CertificateFiles, type TlsFiles } from './tls-files.js';
export { reloadTlsFilesOnChange, type TlsReloadOptions } from './tls-reload.js';
export { newFlowId } from './flow-id.js';
export { normalizeAddress, familyOf, type AddressFamily } from './endpoint.js';
