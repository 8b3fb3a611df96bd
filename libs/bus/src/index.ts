export {
  type Bus,
  BUS_ERRORS,
  BusError,
  type BusHandler,
  type BusHeaders,
  type BusMessage,
  BusNoRespondersError,
  BusRemoteError,
  type BusReply,
  BusTimeoutError,
  BusUnavailableError,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
} from './port.js';
export { connectNatsBus, NatsBus, type NatsBusOptions } from './nats-bus.js';
export { MemoryBus, MemoryBusHub, type MemoryBusOptions } from './memory-bus.js';
export { PortBus, serveBusOnPort, type PortBusOptions, type ServeBusOptions } from './port-bus.js';
