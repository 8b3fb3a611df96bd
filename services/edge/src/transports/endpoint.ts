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

/** `192.0.2.1:5060`, `[2001:db8::1]:5060`: for logs and configuration. */
export function formatEndpoint(endpoint: Endpoint): string {
  return familyOf(endpoint.address) === 6
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/**
 * Parses a listen or destination address written as `192.0.2.1:5060` or `[::]:5060` (the
 * address must be an IP literal; the port 0–65535). Throws a RangeError naming the input.
 */
export function parseEndpoint(text: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const address = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || address === undefined || port > 65535) {
    throw new RangeError(`endpoint: expected "ipv4:port" or "[ipv6]:port", got "${text}"`);
  }
  if (familyOf(address) === undefined) {
    throw new RangeError(`endpoint: "${text}" does not hold an IP address`);
  }
  return { address, port };
}
