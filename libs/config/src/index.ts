export { ConfigError, EnvReader, type Endpoint } from './env.js';
export { type ProcessLogger, runMain, stopOnSignals } from './process.js';
