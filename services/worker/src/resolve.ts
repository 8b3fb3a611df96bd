import { type DnsPort, type NextHop, resolveNextHop } from '@sipedge/proxy';
import type { Hop } from './record.js';

/** The worker's next-hop resolution through RFC 3263 (`resolveNextHop`): every tuple, in the order to try. */
export function resolverFor(dns: DnsPort): (hop: NextHop) => Promise<Hop[]> {
  return async (hop) =>
    (await resolveNextHop(hop, dns)).map((t) => ({ transport: t.transport, address: t.address, port: t.port }));
}
