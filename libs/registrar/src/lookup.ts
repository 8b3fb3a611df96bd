import { type NameAddr, type Uri, parseNameAddr } from '@sipedge/sip';
import { type BindingData, decodeBindingData } from './binding-data.js';
import { aorOf, contactKey } from './keys.js';
import type { LocationService } from '@sipedge/ports';

/** One registered contact of an AOR, as the proxy's target set needs it (§16.5). */
export interface Target {
  /** The contact URI exactly as registered (URI parameters and escaped headers kept). */
  readonly uri: Uri;
  /** The whole Contact value: display name, URI and header parameters (`expires` as granted). */
  readonly contact: NameAddr;
  /** q-value in [0, 1]. */
  readonly q: number;
  readonly data: BindingData;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface LookupOptions {
  readonly locations: LocationService;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * The current bindings of the AOR a Request-URI names (`aorOf`), highest q first (ties: the
 * binding that lives longest first), without duplicates by `contactKey` (the longest-living copy is
 * kept). A URI without an AOR (tel:, other schemes) has no targets; so has an unknown AOR.
 * Bindings whose stored contact no longer parses are skipped.
 */
export async function lookupTargets(aorUri: Uri, options: LookupOptions): Promise<Target[]> {
  const aor = aorOf(aorUri);
  if (aor === null) return [];
  const byKey = new Map<string, Target>();
  for (const b of await options.locations.lookup(aor, options.now)) {
    if (b.expiresAt <= options.now) continue;
    let contact: NameAddr;
    try {
      contact = parseNameAddr(b.contact);
    } catch {
      continue;
    }
    const key = contactKey(contact.uri);
    const seen = byKey.get(key);
    if (seen !== undefined && seen.expiresAt >= b.expiresAt) continue;
    byKey.set(key, { uri: contact.uri, contact, q: b.q, data: decodeBindingData(b.data), expiresAt: b.expiresAt });
  }
  return [...byKey.values()].sort((a, b) => b.q - a.q || b.expiresAt - a.expiresAt);
}
