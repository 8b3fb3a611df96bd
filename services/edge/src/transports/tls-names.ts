import type { X509Certificate } from 'node:crypto';

/**
 * One entry of `X509Certificate.subjectAltName` ("DNS:a.example.com, IP Address:192.0.2.1"): its
 * type, then its value, a JSON string literal where Node had to quote it (CVE-2021-44532: the text
 * cannot simply be split at ", ").
 */
const SAN_ENTRY = /(?:^|, )([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/**
 * The DNS names a certificate is for: its subjectAltName dNSName entries (RFC 5280 §4.2.1.6),
 * lower-cased. The subject's common name is not used (RFC 6125 §6.4.4).
 */
export function dnsNames(certificate: X509Certificate): string[] {
  const san = certificate.subjectAltName ?? '';
  return [...san.matchAll(SAN_ENTRY)]
    .filter((entry) => entry[1] === 'DNS')
    .map((entry) => {
      const value = entry[2]!;
      return (value.startsWith('"') ? (JSON.parse(value) as string) : value).toLowerCase();
    });
}

/**
 * Values (certificates) found by the server name a TLS client asks for (SNI, RFC 6066 §3): a name
 * held exactly first, then a wildcard name `*.example.com`, whose `*` stands for exactly one whole
 * left-most label (RFC 6125 §6.4.3: `a.example.com`, not `a.b.example.com` nor `example.com`).
 * Other wildcards (`a*.example.com`) match nothing. Names compare case-insensitively, without a
 * trailing dot; a name keeps the first value it was added with.
 */
export class ServernameTable<T> {
  readonly #exact = new Map<string, T>();
  /** Wildcard names by what follows their `*.`. */
  readonly #wildcard = new Map<string, T>();

  add(names: Iterable<string>, value: T): void {
    for (const name of names) {
      const normal = normalise(name);
      if (normal.startsWith('*.')) setIfAbsent(this.#wildcard, normal.slice(2), value);
      else if (!normal.includes('*')) setIfAbsent(this.#exact, normal, value);
    }
  }

  /** The value for a server name, or undefined when no name matches it. */
  lookup(servername: string): T | undefined {
    const name = normalise(servername);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const firstDot = name.indexOf('.');
    return firstDot > 0 ? this.#wildcard.get(name.slice(firstDot + 1)) : undefined;
  }
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function setIfAbsent<T>(map: Map<string, T>, key: string, value: T): void {
  if (!map.has(key)) map.set(key, value);
}
