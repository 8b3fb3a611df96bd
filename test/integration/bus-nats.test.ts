import { Socket } from 'node:net';
import { BusError, connectNatsBus, type NatsBus } from '@sipedge/bus';
import { busContract } from '@sipedge/bus/testing';
import { createLogger } from '@sipedge/telemetry';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startContainerAgain, startNats, stopContainer, type StartedNats } from '../support/containers.js';
import { freePort } from '../support/free-port.js';

// The Bus contract against a real NATS server. The server listens on a fixed host port, so that
// the outage part of the contract can stop it and start it again at the same address.

let nats: StartedNats | undefined;

beforeAll(async () => {
  nats = await startNats({ hostPort: await freePort() });
});

afterAll(async () => {
  await nats?.container.stop();
});

const logger = () => createLogger({ name: 'bus-test', level: process.env.LOG_LEVEL ?? 'silent' });

async function client(name: string): Promise<NatsBus> {
  return connectNatsBus({ servers: nats!.url, name, reconnectWaitMs: 100, logger: logger() });
}

// Before the contract: its outage restarts the container, which may move the monitoring port.
describe('connectNatsBus', () => {
  it('fails with BusUnavailableError when no server listens', async () => {
    const port = await freePort();
    await expect(
      connectNatsBus({ servers: `nats://127.0.0.1:${port}`, name: 'nobody', logger: logger() }),
    ).rejects.toMatchObject({ name: 'BusUnavailableError' });
  });

  it('names the connection on the server', async () => {
    const bus = await client('named-client');
    try {
      const res = await fetch(`${nats!.monitorUrl}/connz`);
      const connz = (await res.json()) as { connections: { name?: string }[] };
      expect(connz.connections.map((c) => c.name)).toContain('named-client');
    } finally {
      await bus.close();
    }
  });
});

describe('NatsBus publishing', () => {
  const text = (value: string): Uint8Array => new TextEncoder().encode(value);

  it('sends what is published from separate callbacks of one turn in one socket write', async () => {
    const [bus, other] = await Promise.all([client('batching-sender'), client('batching-receiver')]);
    const write = vi.spyOn(Socket.prototype, 'write');
    try {
      const received: string[] = [];
      await other.subscribe('batching.test', (m) => void received.push(new TextDecoder().decode(m.data)));
      const count = 20;
      write.mockClear();
      // As an edge's datagrams are: each its own callback, with its own microtask checkpoint.
      await new Promise<void>((resolve) => {
        for (let i = 0; i < count; i++) {
          setImmediate(() => {
            void bus.publish('batching.test', text(String(i)));
            if (i === count - 1) resolve();
          });
        }
      });
      await vi.waitFor(() => expect(received).toHaveLength(count), { timeout: 5000, interval: 5 });
      expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i)));
      expect(write).toHaveBeenCalledTimes(1);
    } finally {
      write.mockRestore();
      await Promise.all([bus.close(), other.close()]);
    }
  });

  it("refuses a message above the server's max_payload when it is published, not later", async () => {
    const bus = await client('too-large');
    try {
      const max = 1024 * 1024; // nats-server's default max_payload
      await expect(bus.publish('too.large', new Uint8Array(max + 1))).rejects.toBeInstanceOf(BusError);
      await expect(bus.publish('too.large', new Uint8Array(max - 50), { traceparent: 'x'.repeat(60) })).rejects.toThrow(
        /payload/i,
      );
      await bus.publish('too.large', new Uint8Array(max - 200), { traceparent: 'x'.repeat(60) });
    } finally {
      await bus.close();
    }
  });
});

busContract(
  'NatsBus',
  async () => {
    const [bus, other] = await Promise.all([client('contract-edge'), client('contract-worker')]);
    return {
      bus,
      other,
      teardown: async () => {
        await Promise.all([bus.close(), other.close()]);
      },
    };
  },
  {
    disconnect: async () => stopContainer(nats!.container),
    reconnect: async () => startContainerAgain(nats!.container),
  },
);
