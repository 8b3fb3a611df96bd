/**
 * Hashes of a Call-ID that every edge computes alike (no seed), so that a fleet agrees on what
 * follows from it: which calls HEP samples, which worker a call's messages go to.
 */

/** FNV-1a (32 bits) over the key's character codes (header text is binary: one character per byte). */
export function fnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: every input bit moves every output bit (FNV's high bits alone are not well mixed for short keys). */
export function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
