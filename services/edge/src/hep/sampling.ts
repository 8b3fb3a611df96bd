/**
 * HEP sampling is per call, not per message: a call is captured whole or not at all. The key is
 * the Call-ID, hashed without a seed, so that every edge of a fleet (and every restart) takes the
 * same calls, whichever edge sees which of their messages.
 */
import { fnv1a32, mix32 } from '../call-hash.js';

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
