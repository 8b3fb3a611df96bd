export type { Arrival, Endpoint, TransportHandler, TransportName } from './types.js';
export { UdpTransport, type UdpTransportOptions } from './udp.js';
export { StreamTransport, type StreamTransportOptions, type StreamRejectReason, type FlowInfo } from './stream.js';
export {
  tcpSockets,
  tlsSockets,
  type StreamSockets,
  type StreamConnectOptions,
  type OpenOptions,
  type TlsSettings,
} from './stream-sockets.js';
export { newFlowId } from './flow-id.js';
export { parseEndpoint, formatEndpoint, normalizeAddress, familyOf, type AddressFamily } from './endpoint.js';
