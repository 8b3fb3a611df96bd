export { Worker, type WorkerDeps, type WorkerSettings, contextIdOf } from './worker.js';
export { type Committed, recordKey } from './call-store.js';
export { decide, type TuDeps, type AuthSettings } from './tu.js';
export {
  createCall,
  applyToCall,
  fireDueTimers,
  type Decision,
  type Effect,
  type EngineSettings,
  type CallEvent,
} from './engine.js';
export type { CallRecord, Hop, ForkRecord } from './record.js';
export { resolverFor } from './resolve.js';
export { workerConfigFromEnv, ConfigError, type WorkerEnvConfig } from './env.js';
export { SharedBlacklist, BLACKLIST_KEY, type BlacklistSettings } from './blacklist.js';
export { parseRouting, loadRouting, roundRobinCounter, type Routing } from './routing.js';
export { DispatcherProber, HEALTH_KEY, probedHop, type ProbeSettings } from './probe.js';
export { createWorker, type WorkerAdapters } from './assemble.js';
export { WorkerMetrics } from './metrics.js';
export { startWorkerOpsServer, type WorkerOpsServer } from './http.js';
