import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createMemoryStores, portStores, serveStoresOnPort, StoreUnavailableError } from '../src/index.js';
import { storeContract } from '../src/testing/index.js';

/** The in-memory stores served over a MessageChannel (as between two threads). */
function servedStores() {
  const owned = createMemoryStores();
  const { port1, port2 } = new MessageChannel();
  serveStoresOnPort(port2, owned);
  const remote = portStores(port1);
  return {
    owned,
    remote: {
      ...remote,
      close: async () => {
        await remote.close();
        port2.close();
        await owned.close();
      },
    },
  };
}

storeContract('memory twin over a MessagePort', async () => servedStores().remote);

describe('stores over a MessagePort', () => {
  it('performs the calls on the owner’s stores: what one side writes, the other reads', async () => {
    const { owned, remote } = servedStores();
    await remote.users.put('example.com', 'alice', '{"password":"x"}');
    expect(await owned.users.get('example.com', 'alice')).toBe('{"password":"x"}');
    await owned.connections.register('flow-1', 'edge-a', 60_000);
    expect(await remote.connections.lookup('flow-1')).toBe('edge-a');
    await remote.close();
  });

  it('keeps the class of an error the ports throw, and fails calls after close', async () => {
    const { remote } = servedStores();
    await expect(remote.abuse.addRequests(1, [['192.0.2.1', -1]], 1000)).rejects.toThrow(TypeError);
    await remote.close();
    await expect(remote.edges.live(Date.now())).rejects.toThrow(StoreUnavailableError);
  });
});
