export { Edge, type EdgeDeps } from './edge.js';
export { DEFAULT_EDGE_CONFIG, type EdgeConfig, type EdgeTlsConfig, type ClientCertMode } from './config.js';
export { edgeConfigFromEnv, ConfigError } from './env.js';
export { InboundPipeline } from './inbound.js';
export { Handoff, type HandoffSettings } from './handoff.js';
export { OutboundDelivery } from './outbound.js';
export { EdgeMetrics } from './metrics.js';
