export { CidrSet, isIPv4, parseAddress, parseRange, type IpAddress } from '@sipedge/net';
export { DenyList } from './deny-list.js';
export { RateLimiter, type RateLimiterOptions } from './rate-limit.js';
