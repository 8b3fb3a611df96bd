/**
 * What the abuse tests (slow clients, UDP garbage) measure a running sipedge with: the round trip of
 * an OPTIONS as a normal client sends it, and the values of its Prometheus metrics.
 */
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect } from 'node:net';
import { UdpClient, sipRequest } from './sip-client.js';

/** An OPTIONS to the proxy itself (answered 200 by a worker), as a client on `transport` sends it. */
function optionsToProxy(transport: 'UDP' | 'TCP', port: number, localPort: number): string {
  const tag = randomBytes(6).toString('hex');
  return sipRequest('OPTIONS', {
    uri: `sip:127.0.0.1:${port}`,
    via: `SIP/2.0/${transport} 127.0.0.1:${localPort};branch=z9hG4bKprobe${tag}`,
    callId: `probe-${tag}@127.0.0.1`,
  });
}

/** Milliseconds from sending an OPTIONS over UDP to the proxy at 127.0.0.1:`port` to its 200. */
export async function optionsRoundTripUdp(port: number, timeoutMs = 5000): Promise<number> {
  const client = await UdpClient.open();
  try {
    const started = performance.now();
    await client.send(optionsToProxy('UDP', port, client.port), port);
    const { data } = await client.nth(1, timeoutMs);
    const elapsed = performance.now() - started;
    if (!data.toString('latin1').startsWith('SIP/2.0 200')) throw new Error(`not a 200: ${data.toString('latin1')}`);
    return elapsed;
  } finally {
    client.close();
  }
}

/**
 * Milliseconds from opening a fresh TCP connection to the proxy at 127.0.0.1:`port` (connection
 * set-up included) to the 200 of the OPTIONS sent on it.
 */
export function optionsRoundTripTcp(port: number, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  const socket = connect({ host: '127.0.0.1', port });
  return new Promise<number>((resolve, reject) => {
    let received = '';
    const timer = setTimeout(
      () => fail(new Error(`no 200 within ${timeoutMs} ms: ${JSON.stringify(received)}`)),
      timeoutMs,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('connect', () => socket.write(optionsToProxy('TCP', port, socket.localPort!)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      const elapsed = performance.now() - started;
      socket.destroy();
      if (received.startsWith('SIP/2.0 200')) resolve(elapsed);
      else reject(new Error(`not a 200: ${received}`));
    });
  });
}

/**
 * Resolves once an OPTIONS over TCP is answered on its connection: in `sipedge all` the worker
 * learns that the edge is live from the edge registry, read once a second, and until then answers
 * a TCP request over a new connection (which a client's ephemeral port refuses).
 */
export async function answeringOverTcp(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await optionsRoundTripTcp(port, 1000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

/**
 * The text of a Prometheus endpoint, on a connection of its own: a kept-alive connection may be
 * closed by the server (its keep-alive timeout, late on a busy event loop) just as a request goes out.
 */
export function metricsText(metricsUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(metricsUrl, { agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text));
      response.on('error', reject);
    }).on('error', reject);
  });
}

/** The value of one sample (`name` with its labels, as written on /metrics) from a Prometheus endpoint. */
export async function metricValue(metricsUrl: string, sample: string): Promise<number> {
  const text = await metricsText(metricsUrl);
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (line === undefined) throw new Error(`${sample} not found on ${metricsUrl}`);
  return Number(line.slice(sample.length + 1));
}
