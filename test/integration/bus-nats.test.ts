import { connectNatsBus, type NatsBus } from '@sipedge/bus';
import { busContract } from '@sipedge/bus/testing';
import { createLogger } from '@sipedge/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startContainerAgain, startNats, stopContainer, type StartedNats } from '../support/containers.js';

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
