export { Edge, type EdgeDeps } from './edge.js';
export { DEFAULT_EDGE_CONFIG, type EdgeConfig, type EdgeTlsConfig, type ClientCertMode, edgeSelf } from './config.js';
export { edgeConfigFromEnv, ConfigError } from './env.js';
export { InboundPipeline } from './inbound.js';
export { Handoff } from './handoff.js';
export { OutboundDelivery } from './outbound.js';
export { EdgeMetrics } from './metrics.js';
export { DEFAULT_HEP_AGENT_ID, DEFAULT_HEP_SAMPLING } from './env.js';
export {
  HEP_CHUNK,
  HEP_FAMILY,
  HEP_IP_PROTOCOL,
  HEP_PROTOCOL_TYPE,
  HepDecodeError,
  HepExporter,
  decodeHep,
  encodeHep,
  type DecodedHep,
  type HepPacket,
  type HepSettings,
  type HepStats,
} from './hep/index.js';
