import { readFileSync } from 'node:fs';
import { ConfigError } from '@sipedge/config';
import { type DispatcherSet, type StaticRoute, validateDispatcherSet, validateStaticRoutes } from '@sipedge/proxy';

/** Static routes and the dispatcher sets they may name (`SIPEDGE_ROUTING_FILE` or `SIPEDGE_ROUTING`). */
export interface Routing {
  staticRoutes: StaticRoute[];
  dispatchers: Record<string, DispatcherSet>;
}

export const NO_ROUTING: Routing = { staticRoutes: [], dispatchers: {} };

/**
 * Reads a routing file: JSON `{ "staticRoutes": [...], "dispatchers": [...] }` (both optional; the
 * shapes of `StaticRoute` and `DispatcherSet`). Every route and set is checked, and every dispatcher a
 * route names must exist: a bad file stops the worker at start-up with a ConfigError naming the file.
 */
export function loadRouting(path: string): Routing {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw ConfigError.of('SIPEDGE_ROUTING_FILE', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseRouting(text, path);
}

/**
 * Parses routing JSON (the routing file's content, or `SIPEDGE_ROUTING` inline). A problem is a
 * ConfigError of `setting` naming `source` (the file; empty for inline routing).
 */
export function parseRouting(text: string, source: string, setting = 'SIPEDGE_ROUTING_FILE'): Routing {
  const fail = (message: string, cause?: unknown): never => {
    throw ConfigError.of(
      setting,
      source === '' ? message : `${source}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON: ${(error as Error).message}`, error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('expected a JSON object');
  const { staticRoutes = [], dispatchers = [] } = parsed as { staticRoutes?: unknown; dispatchers?: unknown };
  if (!Array.isArray(staticRoutes)) return fail('"staticRoutes" must be an array');
  if (!Array.isArray(dispatchers)) return fail('"dispatchers" must be an array');
  const routes = staticRoutes as StaticRoute[];
  const sets: Record<string, DispatcherSet> = {};
  try {
    validateStaticRoutes(routes);
    for (const set of dispatchers as DispatcherSet[]) {
      validateDispatcherSet(set);
      if (sets[set.name] !== undefined) fail(`dispatcher set ${set.name} defined twice`);
      sets[set.name] = set;
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return fail((error as Error).message, error);
  }
  routes.forEach((route, i) => {
    if (typeof route.to !== 'string' && sets[route.to.dispatcher] === undefined) {
      fail(`static route ${i}: no dispatcher set named "${route.to.dispatcher}"`);
    }
  });
  return { staticRoutes: routes, dispatchers: sets };
}

/** A round-robin position per dispatcher set, kept by this process (each worker rotates on its own). */
export function roundRobinCounter(): (set: string) => number {
  const positions = new Map<string, number>();
  return (set) => {
    const position = positions.get(set) ?? 0;
    positions.set(set, position + 1);
    return position;
  };
}
