export type { AbuseState, Ban } from './abuse.js';
export type { Binding, BindingUpdate, LocationService, RegisterOp, RegisterResult } from './location.js';
