export type * from './types.js';
export * from './branch.js';
export * from './validate.js';
export * from './route.js';
export * from './forward.js';
export * from './context.js';
export * from './best-response.js';
