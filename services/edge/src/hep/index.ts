export {
  HEP_CHUNK,
  HEP_FAMILY,
  HEP_IP_PROTOCOL,
  HEP_MAX_LENGTH,
  HEP_PROTOCOL_TYPE,
  HepDecodeError,
  HepTooLargeError,
  decodeHep,
  encodeHep,
  type DecodedHep,
  type HepPacket,
} from './codec.js';
export {
  HepExporter,
  nowUs,
  type CapturedMessage,
  type HepExporterOptions,
  type HepSettings,
  type HepStats,
} from './exporter.js';
export { keySampler, samplePoint } from './sampling.js';
export { callIdOf, looksLikeSip } from './sniff.js';
export {
  capturingHandler,
  capturingSenders,
  udpLocal,
  wildcardResolver,
  type CaptureSenders,
  type FlowSender,
  type CaptureSink,
  fanOut,
} from './capture.js';
