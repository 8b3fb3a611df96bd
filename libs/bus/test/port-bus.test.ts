import { MessageChannel } from 'node:worker_threads';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it } from 'vitest';
import { BusRemoteError, MemoryBusHub, PortBus, serveBusOnPort } from '../src/index.js';
import { busContract } from '../src/testing/index.js';

const quiet = () => createLogger({ name: 'bus-test', level: process.env.LOG_LEVEL ?? 'silent' });
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** A PortBus whose owner is a client of `hub`, over a MessageChannel (as between two threads). */
function portBusOn(hub: MemoryBusHub): PortBus {
  const { port1, port2 } = new MessageChannel();
  serveBusOnPort(port2, hub.connect({ logger: quiet() }), quiet());
  return new PortBus(port1, { logger: quiet() });
}

busContract('PortBus over a MessagePort', async () => {
  const hub = new MemoryBusHub();
  const [bus, other] = [portBusOn(hub), hub.connect({ logger: quiet() })];
  return { bus, other, teardown: () => Promise.all([bus.close(), other.close()]).then(() => undefined) };
});

describe('PortBus specifics', () => {
  it('answers requests between two PortBuses of one hub, with the handler’s error as a remote error', async () => {
    const hub = new MemoryBusHub();
    const [a, b] = [portBusOn(hub), portBusOn(hub)];
    await b.subscribe('echo', (m) => ({ data: m.data, headers: { seen: 'yes' } }));
    await b.subscribe('fail', () => {
      throw new Error('no such thing');
    });
    const reply = await a.request('echo', text('hi'), { timeoutMs: 2000 });
    expect(new TextDecoder().decode(reply.data)).toBe('hi');
    expect(reply.headers.seen).toBe('yes');
    await expect(a.request('fail', text('x'), { timeoutMs: 2000 })).rejects.toThrow(BusRemoteError);
    await Promise.all([a.close(), b.close()]);
  });

  it('stops delivering to the owner’s side once closed: the hub has no subscriber left', async () => {
    const hub = new MemoryBusHub();
    const bus = portBusOn(hub);
    await bus.subscribe('gone', () => undefined, { queue: 'q' });
    await bus.close();
    const other = hub.connect({ logger: quiet() });
    await expect(other.request('gone', text('x'), { timeoutMs: 500 })).rejects.toThrow(/no responders/);
    await other.close();
  });

  it('tells the owner of each delivery it posts to the thread, in order, publishes and requests alike', async () => {
    const hub = new MemoryBusHub();
    const { port1, port2 } = new MessageChannel();
    const forwarded: string[] = [];
    serveBusOnPort(port2, hub.connect({ logger: quiet() }), quiet(), {
      forwarded: (m) => forwarded.push(`${m.subject}:${new TextDecoder().decode(m.data)}`),
    });
    const bus = new PortBus(port1, { logger: quiet() });
    const handled: string[] = [];
    await bus.subscribe('in', (m) => {
      handled.push(new TextDecoder().decode(m.data));
      return { data: new Uint8Array(0) };
    });
    const other = hub.connect({ logger: quiet() });
    await other.publish('in', text('1'));
    await other.request('in', text('2'), { timeoutMs: 2000 });
    await other.publish('elsewhere', text('3'));
    await expect.poll(() => handled).toEqual(['1', '2']);
    expect(forwarded).toEqual(['in:1', 'in:2']);
    await Promise.all([bus.close(), other.close()]);
  });
});
