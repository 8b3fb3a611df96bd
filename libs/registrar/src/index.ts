export { aorOf, contactKey } from './keys.js';
export { processRegister, ownAorOnly, type RegisterOptions, type RegisterOutcome } from './register.js';
export { lookupTargets, type Target, type LookupOptions } from './lookup.js';
export { encodeBindingData, decodeBindingData, type BindingData, type RegistrationContext } from './binding-data.js';
