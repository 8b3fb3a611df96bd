/**
 * HEP sampling is per call, not per message: a call is captured whole or not at all. The key is
 * the Call-ID, hashed without a seed, so that every edge of a fleet (and every restart) takes the
 * same calls, whichever edge sees which of their messages.
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

/** MurmurHash3's finaliser: FNV's high bits alone are not well mixed for short keys. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Where a key falls in [0, 1): the same key always falls at the same place. */
export function samplePoint(key: string): number {
  return mix32(fnv1a32(key)) / 2 ** 32;
}

/**
 * A sampler taking `percent` (0–100) of the keys: 0 takes none, 100 all; in between, a key is taken
 * when its sample point is below `percent / 100`.
 */
export function keySampler(percent: number): (key: string) => boolean {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`sampling must be 0–100 %, got ${percent}`);
  if (percent === 0) return () => false;
  if (percent === 100) return () => true;
  const threshold = percent / 100;
  return (key) => samplePoint(key) < threshold;
}
