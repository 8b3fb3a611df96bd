import { isIP, isIPv4 } from 'node:net';
import type { Endpoint } from './types.js';

export type AddressFamily = 4 | 6;

const V4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The address as sipedge writes it: an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, seen on
 * dual-stack sockets) becomes plain IPv4; anything else is returned unchanged.
 */
export function normalizeAddress(address: string): string {
  const mapped = V4_MAPPED.exec(address);
  return mapped && isIPv4(mapped[1]!) ? mapped[1]! : address;
}

/** An Endpoint from a socket's address and port (both may be undefined on a destroyed socket). */
export function endpointOf(address: string | undefined, port: number | undefined): Endpoint {
  return { address: normalizeAddress(address ?? ''), port: port ?? 0 };
}

/** 4 or 6 for an IP literal (brackets not allowed), undefined for anything else (a host name). */
export function familyOf(address: string): AddressFamily | undefined {
  const family = isIP(address);
  return family === 4 || family === 6 ? family : undefined;
}
