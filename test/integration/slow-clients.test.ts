/**
 * Slow clients against a `sipedge all` process (issue 14): 200 TCP connections each trickle a SIP
 * message at one byte a second, which the idle timeout (restarted by every byte) would let them do
 * for ever. Meanwhile a normal client is answered within 100 ms, over UDP and over a fresh TCP
 * connection; and the edge closes each slow connection once its message has been arriving for
 * SIPEDGE_MESSAGE_TIMEOUT_MS — not before, and not much after — and counts it.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { answeringOverTcp, metricValue, optionsRoundTripTcp, optionsRoundTripUdp } from '../support/probes.js';
import { sipRequest } from '../support/sip-client.js';

const SLOW_CLIENTS = 200;
const MESSAGE_TIMEOUT_MS = 3000;
/** From the timeout firing to the client seeing 'close': the edge's FIN and the client's own end. */
const CLOSE_MARGIN_MS = 1500;
/** libuv's loop clock counts whole milliseconds: a timer may fire up to 1 ms before its full delay. */
const CLOCK_GRANULARITY_MS = 1;
const ANSWER_WITHIN_MS = 100;
/** Round trips measured per transport while the slow clients trickle. */
const PROBES = 5;

interface SlowClient {
  socket: Socket;
  /** performance.now() when the first byte of its message was written. */
  firstByteAt: number;
  /** performance.now() when the socket closed. */
  closedAt: Promise<number>;
}

/** A connection that writes one byte of an OPTIONS a second until it is closed (the message needs minutes). */
async function slowClient(port: number, n: number): Promise<SlowClient> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  const message = Buffer.from(
    sipRequest('OPTIONS', {
      uri: `sip:127.0.0.1:${port}`,
      via: `SIP/2.0/TCP 127.0.0.1:${socket.localPort};branch=z9hG4bKslow${n}`,
      callId: `slow-${n}@127.0.0.1`,
    }),
  );
  let sent = 0;
  const next = (): void => {
    if (socket.destroyed || sent >= message.length) return;
    socket.write(message.subarray(sent, ++sent));
    setTimeout(next, 1000);
  };
  const firstByteAt = performance.now();
  next();
  return { socket, firstByteAt, closedAt };
}

describe('slow clients (issue 14: message timeout)', () => {
  let proxy: Deployment;
  let metrics: string;
  const clients: SlowClient[] = [];

  beforeAll(async () => {
    const http = `127.0.0.1:${await freePort()}`;
    metrics = `http://${http}/metrics`;
    proxy = await startDeployment('standalone', {
      env: { SIPEDGE_MESSAGE_TIMEOUT_MS: String(MESSAGE_TIMEOUT_MS), SIPEDGE_HTTP: http },
    });
    await answeringOverTcp(proxy.port);
  });

  afterAll(async () => {
    for (const client of clients) client.socket.destroy();
    await proxy?.stop();
  });

  it('answers a normal client within 100 ms and closes each trickling connection after the timeout', async () => {
    for (let n = 0; n < SLOW_CLIENTS; n++) clients.push(await slowClient(proxy.port, n));

    const udp: number[] = [];
    const tcp: number[] = [];
    for (let i = 0; i < PROBES; i++) {
      udp.push(await optionsRoundTripUdp(proxy.port));
      tcp.push(await optionsRoundTripTcp(proxy.port));
      await new Promise((r) => setTimeout(r, 200));
    }
    const stillOpen = clients.filter((c) => !c.socket.destroyed).length;

    const lifetimes = await Promise.all(
      clients.map(async (c) => {
        const closedAt = await Promise.race([
          c.closedAt,
          new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), MESSAGE_TIMEOUT_MS * 3)),
        ]);
        return closedAt - c.firstByteAt;
      }),
    );
    const dropped = await metricValue(metrics, 'sipedge_edge_messages_dropped_total{reason="message-timeout"}');
    const round = (values: number[]) => values.map((v) => Math.round(v * 10) / 10);
    process.stdout.write(
      `slow clients: ${SLOW_CLIENTS} trickling, OPTIONS round trips meanwhile (ms) udp ${round(udp).join(', ')}; ` +
        `tcp ${round(tcp).join(', ')}; slow connections closed after ${Math.round(Math.min(...lifetimes))}–` +
        `${Math.round(Math.max(...lifetimes))} ms (timeout ${MESSAGE_TIMEOUT_MS}); message-timeout drops ${dropped}\n`,
    );

    expect(stillOpen).toBe(SLOW_CLIENTS); // the probes ran while every slow client was connected
    expect(Math.max(...udp)).toBeLessThan(ANSWER_WITHIN_MS);
    expect(Math.max(...tcp)).toBeLessThan(ANSWER_WITHIN_MS);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(MESSAGE_TIMEOUT_MS - CLOCK_GRANULARITY_MS);
    expect(Math.max(...lifetimes)).toBeLessThan(MESSAGE_TIMEOUT_MS + CLOSE_MARGIN_MS);
    expect(dropped).toBe(SLOW_CLIENTS);
  });
});
