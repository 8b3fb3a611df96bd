/**
 * The fleet's one way to write and read an endpoint (an address and a port): settings, NATS
 * hand-off headers, logs and HEP all use it.
 */

/** An IP endpoint. IPv6 addresses are held without brackets. */
export interface Endpoint {
  address: string;
  port: number;
}

/** `address:port`, the address in brackets when it is an IPv6 literal (RFC 3986 §3.2.2). */
const ENDPOINT = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/;

/** `192.0.2.1:5060` or `[2001:db8::1]:5060` as an Endpoint; undefined when it is neither, or the port is above 65535. */
export function splitEndpoint(text: string): Endpoint | undefined {
  const match = ENDPOINT.exec(text.trim());
  const address = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  return match === null || address === undefined || port > 65535 ? undefined : { address, port };
}

/** As splitEndpoint; a RangeError naming the input when it is not an endpoint. */
export function parseEndpoint(text: string): Endpoint {
  const endpoint = splitEndpoint(text);
  if (endpoint === undefined) throw new RangeError(`endpoint: expected "ipv4:port" or "[ipv6]:port", got "${text}"`);
  return endpoint;
}

/** `192.0.2.1:5060`, `[2001:db8::1]:5060`: an address with a colon is an IPv6 literal (host names have none). */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}
