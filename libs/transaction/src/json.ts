/**
 * A deep copy of a JSON value (records, transaction states, proxy contexts): what a JSON round
 * trip would give (`undefined` members left out), without the text in between. Several times
 * faster than `structuredClone` on these small trees, which a worker copies on every event.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) copy[key] = cloneJson(member);
  }
  return copy as T;
}
