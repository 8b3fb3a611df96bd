import { BusUnavailableError, connectNatsBus, type BusMessage, type NatsBus } from '@sipedge/bus';
import { createLogger } from '@sipedge/telemetry';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startContainerAgain, startNats, stopContainer, type StartedNats } from '../support/containers.js';
import { freePort } from '../support/free-port.js';

// NATS goes away and comes back: the bus reports it, fails fast meanwhile (no silent buffering,
// no hanging requests, no crash), and resumes on its own, subscriptions made before included.

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const str = (data: Uint8Array): string => new TextDecoder().decode(data);
const logger = () => createLogger({ name: 'bus-faults', level: process.env.LOG_LEVEL ?? 'silent' });

async function timed<T>(operation: () => Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await operation();
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/** The monitoring URL now: a restarted container gets a new random host port for it. */
async function monitorUrl(started: StartedNats): Promise<string> {
  const runtime = await getContainerRuntimeClient();
  const info = await runtime.container.inspect(runtime.container.getById(started.container.getId()));
  const binding = info.NetworkSettings.Ports['8222/tcp']?.[0];
  if (!binding) {
    throw new Error('NATS monitoring port is not published');
  }
  return `http://${started.container.getHost()}:${binding.HostPort}`;
}

describe('NatsBus when the NATS server stops and starts again', () => {
  let nats: StartedNats | undefined;
  let edge: NatsBus | undefined;
  let worker: NatsBus | undefined;
  /** Closed during the outage. */
  let doomed: NatsBus | undefined;
  const events: string[] = [];
  const requestsSeen: BusMessage[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    nats = await startNats({ hostPort: await freePort() });
    edge = await connectNatsBus({ servers: nats.url, name: 'faults-edge', reconnectWaitMs: 100, logger: logger() });
    worker = await connectNatsBus({ servers: nats.url, name: 'faults-worker', reconnectWaitMs: 100, logger: logger() });
    // Made before the outage; must work again after it.
    await edge.subscribe('faults.events', (m) => void events.push(str(m.data)));
    await worker.subscribe('faults.svc', async (m) => {
      requestsSeen.push(m);
      return { data: text(`re:${str(m.data)}`), headers: { traceparent: m.headers.traceparent ?? '' } };
    });
    await worker.subscribe('faults.never', () => undefined);
    doomed = await connectNatsBus({ servers: nats.url, name: 'faults-doomed', reconnectWaitMs: 100, logger: logger() });
    await doomed.subscribe('faults.events', () => undefined);
  });

  afterAll(async () => {
    await Promise.allSettled([edge?.close(), worker?.close(), doomed?.close()]);
    await nats?.container.stop();
    process.off('unhandledRejection', onUnhandled);
  });

  it('works before the outage', async () => {
    await worker!.publish('faults.events', text('before'));
    await vi.waitFor(() => expect(events).toEqual(['before']), { timeout: 5000, interval: 5 });
    const reply = await edge!.request('faults.svc', text('one'), { timeoutMs: 5000 });
    expect(str(reply.data)).toBe('re:one');
  });

  it('reports the outage and fails fast while it lasts', async () => {
    const waiting = edge!.request('faults.never', text('?'), { timeoutMs: 60_000 });
    const waitingResult = timed(() => waiting);

    const stopped = performance.now();
    await stopContainer(nats!.container);
    await vi.waitFor(() => expect(edge!.connected).toBe(false), { timeout: 5000, interval: 5 });
    await vi.waitFor(() => expect(worker!.connected).toBe(false), { timeout: 5000, interval: 5 });

    // The request in flight fails at once instead of waiting for its 60 s timeout.
    const inFlight = await waitingResult;
    expect(inFlight.error).toBeInstanceOf(BusUnavailableError);
    expect(performance.now() - stopped).toBeLessThan(5000);

    // Several rounds, while nats.js keeps trying to reconnect in the background.
    for (let round = 0; round < 3; round++) {
      const operations: (() => Promise<unknown>)[] = [
        () => edge!.publish('faults.events', text('lost-during-outage')),
        () => edge!.request('faults.svc', text('?'), { timeoutMs: 5000 }),
        () => edge!.subscribe('faults.late', () => undefined),
        () => worker!.publish('faults.events', text('lost-during-outage')),
      ];
      for (const operation of operations) {
        const { ms, error } = await timed(operation);
        expect(error).toBeInstanceOf(BusUnavailableError);
        expect(ms).toBeLessThan(2000);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(edge!.connected).toBe(false);

    // Closing while disconnected does not wait for the server.
    const closing = await timed(() => doomed!.close());
    expect(closing.error).toBeUndefined();
    expect(closing.ms).toBeLessThan(2000);
    expect(doomed!.connected).toBe(false);
  });

  it('reconnects by itself and resumes, with the subscriptions made before the outage', async () => {
    const started = performance.now();
    await startContainerAgain(nats!.container);
    await vi.waitFor(() => expect(edge!.connected && worker!.connected).toBe(true), { timeout: 30_000, interval: 10 });
    expect(performance.now() - started).toBeLessThan(30_000);

    // Old subscription (edge) receives; nothing published during the outage shows up.
    await worker!.publish('faults.events', text('after'));
    await vi.waitFor(() => expect(events).toEqual(['before', 'after']), { timeout: 5000, interval: 5 });

    // Old responder (worker) answers, trace context intact.
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const reply = await edge!.request('faults.svc', text('two'), { timeoutMs: 5000, headers: { traceparent } });
    expect(str(reply.data)).toBe('re:two');
    expect(reply.headers).toEqual({ traceparent });
    expect(requestsSeen.map((m) => str(m.data))).toEqual(['one', 'two']);

    // New subscriptions work too.
    const fresh: string[] = [];
    await edge!.subscribe('faults.fresh', (m) => void fresh.push(str(m.data)));
    await worker!.publish('faults.fresh', text('new'));
    await vi.waitFor(() => expect(fresh).toEqual(['new']), { timeout: 5000, interval: 5 });
    expect(events).not.toContain('lost-during-outage');

    // The client closed during the outage stayed closed: it did not reconnect.
    expect(doomed!.connected).toBe(false);
    await expect(doomed!.publish('faults.events', text('x'))).rejects.toBeInstanceOf(BusUnavailableError);
    const connz = (await (await fetch(`${await monitorUrl(nats!)}/connz`)).json()) as {
      connections: { name?: string }[];
    };
    expect(connz.connections.map((c) => c.name).sort()).toEqual(['faults-edge', 'faults-worker']);
  });

  it('raised no unhandled rejections', () => {
    expect(unhandled).toEqual([]);
  });
});
