/**
 * NATS bus benchmark: request/reply round-trip time through `@sipedge/bus` (NatsBus) between two
 * connections in this process, one request in flight at a time, a ~600-byte payload with a
 * `traceparent` header (roughly what an edge sends a worker). A library function (the caller
 * prints); run it from this repository with the `development` condition so that workspace
 * packages resolve to their sources, e.g.
 *
 *   node --conditions=development --import tsx -e "
 *     const { benchBus } = await import('./bench/adapters/bus.ts');
 *     console.log(await benchBus('nats://127.0.0.1:4222'));"
 *
 * 1000 warm-up requests, then 20 000 measured requests or 10 s, whichever comes first. RTT is
 * measured with `process.hrtime.bigint()` around `bus.request(...)`, so it includes both clients'
 * encoding and the handler's dispatch, not only the network.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '@sipedge/telemetry';
import { connectNatsBus } from '@sipedge/bus';
import { percentile } from '../support/stats.js';

export interface BusBenchResult {
  /** Median round trip, microseconds. */
  rttP50Us: number;
  /** 99th percentile round trip, microseconds. */
  rttP99Us: number;
  /** Measured requests (20 000 unless the 10 s bound cut the run short). */
  requests: number;
}

const WARM_UP = 1000;
const MAX_REQUESTS = 20_000;
const MAX_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5000;
const PAYLOAD_BYTES = 600;
const SUBJECT = 'bench.bus.echo';

export async function benchBus(url: string): Promise<BusBenchResult> {
  const logger = createLogger({ name: 'bench-bus', level: 'silent' });
  const edge = await connectNatsBus({ servers: url, name: 'bench-bus-edge', logger });
  const worker = await connectNatsBus({ servers: url, name: 'bench-bus-worker', logger }).catch(async (error) => {
    await edge.close();
    throw error;
  });
  try {
    await worker.subscribe(SUBJECT, async (message) => ({ data: message.data, headers: message.headers }));
    const payload = new Uint8Array(randomBytes(PAYLOAD_BYTES));
    const options = {
      timeoutMs: REQUEST_TIMEOUT_MS,
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    };

    for (let i = 0; i < WARM_UP; i++) {
      await edge.request(SUBJECT, payload, options);
    }

    const samples: number[] = [];
    const deadline = process.hrtime.bigint() + BigInt(MAX_MS) * 1_000_000n;
    while (samples.length < MAX_REQUESTS) {
      const start = process.hrtime.bigint();
      if (start >= deadline) {
        break;
      }
      const reply = await edge.request(SUBJECT, payload, options);
      samples.push(Number(process.hrtime.bigint() - start) / 1000);
      if (reply.data.length !== PAYLOAD_BYTES) {
        throw new Error(`bench-bus: reply of ${reply.data.length} bytes, expected ${PAYLOAD_BYTES}`);
      }
    }

    samples.sort((a, b) => a - b);
    return {
      rttP50Us: round(percentile(samples, 0.5)),
      rttP99Us: round(percentile(samples, 0.99)),
      requests: samples.length,
    };
  } finally {
    await Promise.allSettled([edge.close(), worker.close()]);
  }
}

function round(us: number): number {
  return Math.round(us * 10) / 10;
}
