import { type DnsPort, type NextHop, resolveNextHop } from '@sipedge/proxy';
import type { Hop } from './record.js';

/**
 * The worker's next-hop resolution through RFC 3263 (`resolveNextHop`): the first tuple. Failing
 * over to the next tuples on a transport error (B19) is not wired into the worker yet.
 */
export function resolverFor(dns: DnsPort): (hop: NextHop) => Promise<Hop | null> {
  return async (hop) => {
    const [first] = await resolveNextHop(hop, dns);
    return first === undefined ? null : { transport: first.transport, address: first.address, port: first.port };
  };
}
