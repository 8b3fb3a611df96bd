import ipaddr from 'ipaddr.js';

/** A parsed IP address as ipaddr.js represents it. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A parsed range: network address and prefix length. */
type Range<T extends IpAddress> = [T, number];

const PREFIX = /^\d{1,3}$/;

/** Narrows an address to IPv4 (ipaddr.js's `kind()` is a method, which TypeScript cannot narrow on). */
export function isIPv4(address: IpAddress): address is ipaddr.IPv4 {
  return address.kind() === 'ipv4';
}
const IPV4_MAPPED_PREFIX = 96;

/**
 * Parses one configured range (`10.0.0.0/8`, `2001:db8::/32`, or a single address taken as /32 or
 * /128). Configuration is checked strictly so that typos fail at start rather than silently
 * matching something else: IPv4 must be dotted four-part decimal (ipaddr.js would otherwise read
 * `10/8` as `0.0.0.10/8`), IPv6 may not carry a zone id, and the prefix must be a plain decimal
 * within the family's length. Host bits after the prefix are allowed and ignored (`10.1.2.3/8`
 * is `10.0.0.0/8`). An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) becomes the IPv4 range it
 * covers, because mapped addresses are matched as IPv4 (see {@link parseAddress}).
 *
 * @param label Names the list in the error message (e.g. `deny list`, `trusted`).
 * @throws RangeError naming the entry when it is not a valid address or range.
 */
export function parseRange(entry: string, label: string): Range<IpAddress> {
  const text = entry.trim();
  const fail = (why: string): never => {
    throw new RangeError(`${label}: invalid entry "${entry}": ${why}`);
  };
  const slash = text.indexOf('/');
  const host = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  let address: IpAddress;
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    address = ipaddr.IPv4.parse(host);
  } else if (ipaddr.IPv6.isValid(host) && !host.includes('%')) {
    address = ipaddr.IPv6.parse(host);
  } else {
    return fail('expected an IPv4 or IPv6 address or CIDR range');
  }
  const maxPrefix = address.kind() === 'ipv4' ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!PREFIX.test(prefixText) || Number(prefixText) > maxPrefix) {
      return fail(`prefix length must be 0 to ${maxPrefix}`);
    }
    prefix = Number(prefixText);
  }
  if (!isIPv4(address) && address.isIPv4MappedAddress() && prefix >= IPV4_MAPPED_PREFIX) {
    return [address.toIPv4Address(), prefix - IPV4_MAPPED_PREFIX];
  }
  return [address, prefix];
}

/**
 * Parses an address as it comes from a socket. IPv4-mapped IPv6 (`::ffff:10.1.2.3`, what a
 * dual-stack socket reports for an IPv4 peer) becomes plain IPv4, so one client is one address
 * whichever socket it reached. Returns undefined for anything that is not an IP address.
 */
export function parseAddress(address: string): IpAddress | undefined {
  try {
    return ipaddr.process(address);
  } catch {
    return undefined;
  }
}

/**
 * An immutable set of IPv4 and IPv6 ranges with a membership test; the building block of the deny
 * list and of the rate limiter's trusted sources. Ranges are kept per family because ipaddr.js
 * refuses to match an address against a range of the other family.
 */
export class CidrSet {
  readonly #v4: Range<ipaddr.IPv4>[] = [];
  readonly #v6: Range<ipaddr.IPv6>[] = [];

  /**
   * @param entries Ranges as accepted by {@link parseRange}.
   * @param label Names the list in error messages.
   * @throws RangeError naming the first invalid entry.
   */
  constructor(entries: readonly string[], label: string) {
    for (const entry of entries) {
      const [address, prefix] = parseRange(entry, label);
      if (isIPv4(address)) {
        this.#v4.push([address, prefix]);
      } else {
        this.#v6.push([address, prefix]);
      }
    }
  }

  /** The number of ranges. */
  get size(): number {
    return this.#v4.length + this.#v6.length;
  }

  /** Whether a parsed address lies in one of the ranges. */
  contains(address: IpAddress): boolean {
    if (isIPv4(address)) {
      return this.#v4.some((range) => address.match(range));
    }
    return this.#v6.some((range) => address.match(range));
  }

  /** Whether an address string lies in one of the ranges; false for a string that is not an IP address. */
  has(address: string): boolean {
    if (this.size === 0) {
      return false;
    }
    const parsed = parseAddress(address);
    return parsed !== undefined && this.contains(parsed);
  }
}
