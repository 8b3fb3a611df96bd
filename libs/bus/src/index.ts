export * from './port.js';
export { connectNatsBus, NatsBus, type NatsBusOptions } from './nats-bus.js';
export { MemoryBus, MemoryBusHub, type MemoryBusOptions } from './memory-bus.js';
export { PortBus, serveBusOnPort, type PortBusOptions } from './port-bus.js';
export { ERROR_HEADER } from './internal.js';
