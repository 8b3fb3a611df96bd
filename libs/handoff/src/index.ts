export {
  SUBJECTS,
  QUEUES,
  WORKER_PRESENCE,
  WORKER_LOAD,
  checkEdgeId,
  decodeWorkerLoad,
  encodeWorkerLoad,
  isSubjectToken,
  type KeepaliveTarget,
} from './subjects.js';
export {
  H,
  encodeInbound,
  decodeInbound,
  encodeOutbound,
  decodeOutbound,
  type InboundMeta,
  type OutboundMeta,
  type Transport,
} from './envelope.js';
export { traceContextOf, sipAttributes, endpointAttributes, transportAttributes } from './trace.js';
export {
  DEFAULT_OVERLOAD,
  STANDING_WINDOW_MS,
  StandingDelay,
  judgedDelay,
  overloadSettingsFromEnv,
  shouldShed,
  type OverloadSettings,
} from './overload.js';
export { ClockOffsets } from './clock-offsets.js';
export {
  DEFAULT_HANDOFF_RETRY,
  handoffRetryFromEnv,
  handoffReplayWindowMs,
  type HandoffRetrySettings,
} from './retry.js';
export { LocalLink, type LocalDelivery, type LocalEdge, type LocalWorker } from './local-link.js';
