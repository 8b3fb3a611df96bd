import { BlockList, isIP } from 'node:net';

/**
 * Addresses no one outside their own network can reach: RFC 1918, RFC 6598 (carrier-grade NAT),
 * link-local (RFC 3927, RFC 4291), IPv6 unique local (RFC 4193). A Contact naming one of them, sent
 * from another address, is a phone behind a NAT (Kamailio's nathelper, nat_uac_test flag 1).
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');

/** Whether `host` (an IP address, IPv6 with or without brackets; a name is not) is a private address. */
export function isPrivateAddress(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, '');
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
