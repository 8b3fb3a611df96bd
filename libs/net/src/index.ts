export { CidrSet, isIPv4, parseAddress, parseRange, type IpAddress } from './cidr-set.js';
export {
  sendText,
  startHttpServer,
  type HttpHandler,
  type HttpMethods,
  type HttpRoute,
  type HttpServer,
  type HttpServerLogger,
  type HttpServerOptions,
} from './http-server.js';
export { formatEndpoint, parseEndpoint, splitEndpoint, type Endpoint } from './endpoint.js';
