export { ConfigError, EnvReader, type Endpoint } from './env.js';
