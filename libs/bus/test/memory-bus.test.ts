import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it, vi } from 'vitest';
import { BusUnavailableError, MemoryBus, MemoryBusHub, type BusMessage } from '../src/index.js';
import { busContract } from '../src/testing/index.js';

const quiet = () => createLogger({ name: 'bus-test', level: process.env.LOG_LEVEL ?? 'silent' });
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const WAIT = { timeout: 2000, interval: 2 };

busContract(
  'MemoryBus',
  async () => {
    const hub = new MemoryBusHub();
    const bus = hub.connect({ logger: quiet() });
    const other = hub.connect({ logger: quiet() });
    return {
      bus,
      other,
      teardown: async () => {
        await Promise.all([bus.close(), other.close()]);
      },
    };
  },
  {
    disconnect: async ({ bus }) => (bus as MemoryBus).setConnected(false),
    reconnect: async ({ bus }) => (bus as MemoryBus).setConnected(true),
  },
);

describe('MemoryBus specifics', () => {
  it('delivers asynchronously, never inside publish', async () => {
    const bus = new MemoryBus({ logger: quiet() });
    let calls = 0;
    await bus.subscribe('a', () => {
      calls += 1;
    });
    const published = bus.publish('a', text('x'));
    expect(calls).toBe(0);
    await published;
    expect(calls).toBe(0); // not even after the publish's promise settles (microtasks)
    await vi.waitFor(() => expect(calls).toBe(1), WAIT);
    await bus.close();
  });

  it("copies data and headers: neither the publisher's later changes nor other receivers' show", async () => {
    const hub = new MemoryBusHub();
    const bus = hub.connect({ logger: quiet() });
    const received: BusMessage[] = [];
    await bus.subscribe('a', (m) => {
      received.push(m);
      m.headers.traceparent = 'changed';
      m.data[0] = 0;
    });
    await bus.subscribe('a', (m) => void received.push(m));
    const data = text('hello');
    const headers = { traceparent: 'original' };
    await bus.publish('a', data, headers);
    data[1] = 0;
    headers.traceparent = 'mutated';

    await vi.waitFor(() => expect(received).toHaveLength(2), WAIT);
    expect(new TextDecoder().decode(received[1]!.data)).toBe('hello');
    expect(received[1]!.headers).toEqual({ traceparent: 'original' });
    expect(received[0]!.data).not.toBe(received[1]!.data);
    await bus.close();
  });

  it('spreads a queue group round robin', async () => {
    const hub = new MemoryBusHub();
    const bus = hub.connect({ logger: quiet() });
    const counts = [0, 0, 0];
    for (const i of [0, 1, 2]) {
      await hub.connect({ logger: quiet() }).subscribe('work', () => void (counts[i] = counts[i]! + 1), { queue: 'q' });
    }
    for (let i = 0; i < 30; i++) {
      await bus.publish('work', text(String(i)));
    }
    await vi.waitFor(() => expect(counts).toEqual([10, 10, 10]), WAIT);
  });

  it('does not deliver to, nor count as responders, clients that are disconnected', async () => {
    const hub = new MemoryBusHub();
    const edge = hub.connect({ logger: quiet() });
    const worker = hub.connect({ logger: quiet() });
    const received: string[] = [];
    await worker.subscribe('svc', async (m) => {
      received.push(new TextDecoder().decode(m.data));
      return { data: text('ok') };
    });

    worker.setConnected(false);
    expect(worker.connected).toBe(false);
    expect(edge.connected).toBe(true);
    await edge.publish('svc', text('lost'));
    await expect(edge.request('svc', text('?'), { timeoutMs: 1000 })).rejects.toThrow(/no responders/);
    await expect(worker.publish('svc', text('x'))).rejects.toBeInstanceOf(BusUnavailableError);

    worker.setConnected(true);
    await edge.publish('svc', text('kept'));
    await vi.waitFor(() => expect(received).toEqual(['kept']), WAIT);
    await Promise.all([edge.close(), worker.close()]);
  });

  it('logs handler errors and keeps going', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      name: 'bus-test',
      level: 'warn',
      destination: { write: (line) => lines.push(line) },
    });
    const bus = new MemoryBus({ logger });
    await bus.subscribe('a', () => {
      throw new Error('handler bug');
    });
    await bus.publish('a', text('x'));
    await vi.waitFor(() => expect(lines).toHaveLength(1), WAIT);
    const entry = JSON.parse(lines[0]!) as { level: string; msg: string; subject: string; err: { message: string } };
    expect(entry).toMatchObject({
      level: 'warn',
      msg: 'bus: handler failed',
      subject: 'a',
      err: { message: 'handler bug' },
    });
    await bus.close();
  });

  it('ignores setConnected after close', async () => {
    const bus = new MemoryBus({ logger: quiet() });
    await bus.close();
    bus.setConnected(true);
    expect(bus.connected).toBe(false);
    await expect(bus.publish('a', text('x'))).rejects.toBeInstanceOf(BusUnavailableError);
  });
});
