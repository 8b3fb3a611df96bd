import { CidrSet } from '@sipedge/net';

/**
 * Source addresses the edge refuses outright, before parsing or touching shared state: the
 * cheapest protection against known bad networks (scanners, abusive ranges).
 *
 * Entries are CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (taken as /32 or
 * /128). IPv4-mapped IPv6 sources (`::ffff:10.1.2.3`, as a dual-stack socket reports IPv4 peers)
 * match the IPv4 ranges. An invalid entry throws a RangeError naming it at construction, so a
 * configuration mistake stops the edge at start instead of leaving a hole in the list.
 */
export class DenyList {
  readonly #ranges: CidrSet;

  /** @throws RangeError naming the first entry that is not a valid address or CIDR range. */
  constructor(entries: readonly string[]) {
    this.#ranges = new CidrSet(entries, 'deny list');
  }

  /** The number of configured ranges. */
  get size(): number {
    return this.#ranges.size;
  }

  /**
   * Whether traffic from this source address must be dropped. A string that is not an IP address
   * is in no range (sockets always report valid addresses; the list only denies what it names).
   */
  denies(address: string): boolean {
    return this.#ranges.has(address);
  }
}
