export { CidrSet, isIPv4, parseAddress, parseRange, type IpAddress } from './cidr-set.js';
