/**
 * A deep copy of a JSON value (records, transaction states, proxy contexts): what a JSON round
 * trip would give (`undefined` members left out), without the text in between. Several times
 * faster than `structuredClone` on these small trees, which a worker copies on every event; a
 * `for…in` walk is a quarter faster again than one over `Object.keys` (no array of keys per
 * object), and JSON values (plain objects) have no inherited enumerable keys.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneJson(value[i]);
    return copy as T;
  }
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) copy[key] = cloneJson(member);
  }
  return copy as T;
}
