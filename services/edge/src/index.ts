export { Edge, type EdgeDeps } from './edge.js';
export { DEFAULT_EDGE_CONFIG, type EdgeConfig, edgeSelf } from './config.js';
export { edgeConfigFromEnv } from './env.js';
export { Handoff } from './handoff.js';
export { EdgeMetrics } from './metrics.js';
export { decodeHep, type DecodedHep } from './hep/index.js';
