/**
 * Ports for test processes to listen on, free for both TCP and UDP.
 *
 * A port the kernel hands out for `listen(0)` comes from the ephemeral range, which it also hands
 * out to every socket that sends without binding first (the processes of other tests, SIPp's own
 * sockets, DNS lookups). Between the check here and the moment a child process binds the port,
 * such a socket can take it ("Unable to bind main socket"). So the ports are drawn below the
 * ephemeral range, where only an explicit bind takes a port, and checked free on every address
 * for both protocols: a SIP listener binds both.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const ATTEMPTS = 200;

/** A port free for TCP and UDP on every address, outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  const [low, high] = drawRange();
  return freePortIn(low, high);
}

/** A port in [low, high) free for TCP and UDP on every address, drawn at random. */
export async function freePortIn(low: number, high: number): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error(`no port free for TCP and UDP in ${low}–${high} after ${ATTEMPTS} attempts`);
}

/** The ports below the ephemeral range (Linux: net.ipv4.ip_local_port_range), or above it. */
function drawRange(): [number, number] {
  const [first, last] = ephemeralRange();
  if (first - LOWEST >= 4_096) return [LOWEST, first];
  return [last + 1, 65_536];
}

function ephemeralRange(): [number, number] {
  try {
    const [first, last] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(first) && Number.isInteger(last)) return [first!, last!];
  } catch {
    // Not Linux: the IANA dynamic range (RFC 6335 §6).
  }
  return [49_152, 65_535];
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
