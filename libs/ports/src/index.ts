export type { Binding, BindingUpdate, LocationService, RegisterOp, RegisterResult } from './location.js';
