export type { AbuseState, Ban, RequestCounts } from './abuse.js';
export type { Binding, BindingUpdate, LocationService, RegisterOp, RegisterResult } from './location.js';
