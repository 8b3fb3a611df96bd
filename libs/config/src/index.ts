export { ConfigError, EnvReader } from './env.js';
export { type ProcessLogger, runMain, stopOnSignals } from './process.js';
