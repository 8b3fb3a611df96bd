import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseRouting, roundRobinCounter, workerConfigFromEnv } from '../src/index.js';

const GOOD = JSON.stringify({
  staticRoutes: [
    { match: { domain: 'pstn.example.net' }, to: { dispatcher: 'gw' } },
    { match: {}, to: 'sip:default.example.net' },
  ],
  dispatchers: [{ name: 'gw', algorithm: 'hash', hops: [{ uri: 'sip:a.example.net' }, { uri: 'sip:b.example.net' }] }],
});

describe('routing (SIPEDGE_ROUTING_FILE, SIPEDGE_ROUTING)', () => {
  it('loads static routes and dispatcher sets by name', () => {
    const routing = parseRouting(GOOD, 'routes.json');
    expect(routing.staticRoutes).toHaveLength(2);
    expect(Object.keys(routing.dispatchers)).toEqual(['gw']);
  });

  it('is read by the worker configuration; without it there are no routes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sipedge-routing-')), 'routes.json');
    writeFileSync(path, GOOD);
    expect(workerConfigFromEnv({ SIPEDGE_ROUTING_FILE: path }).routing.dispatchers['gw']?.algorithm).toBe('hash');
    expect(workerConfigFromEnv({}).routing).toEqual({ staticRoutes: [], dispatchers: {} });
    expect(() => workerConfigFromEnv({ SIPEDGE_ROUTING_FILE: `${path}.missing` })).toThrow(/cannot read/);
  });

  it('takes the same JSON inline from SIPEDGE_ROUTING, but not together with a file', () => {
    expect(workerConfigFromEnv({ SIPEDGE_ROUTING: GOOD }).routing.staticRoutes).toHaveLength(2);
    expect(() => workerConfigFromEnv({ SIPEDGE_ROUTING: '{"staticRoutes": {}}' })).toThrow(
      'SIPEDGE_ROUTING: "staticRoutes" must be an array',
    );
    expect(() => workerConfigFromEnv({ SIPEDGE_ROUTING: GOOD, SIPEDGE_ROUTING_FILE: 'routes.json' })).toThrow(
      /SIPEDGE_ROUTING: cannot be combined with a routing file/,
    );
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /JSON object/],
    ['a route to an unknown set', JSON.stringify({ staticRoutes: [{ match: {}, to: { dispatcher: 'x' } }] }), /"x"/],
    ['a set without hops', JSON.stringify({ dispatchers: [{ name: 'gw', algorithm: 'hash', hops: [] }] }), /no hops/],
    [
      'a set defined twice',
      JSON.stringify({
        dispatchers: [
          { name: 'gw', algorithm: 'hash', hops: [{ uri: 'sip:a.example.net' }] },
          { name: 'gw', algorithm: 'hash', hops: [{ uri: 'sip:b.example.net' }] },
        ],
      }),
      /twice/,
    ],
    ['a bad route URI', JSON.stringify({ staticRoutes: [{ match: {}, to: 'mailto:x' }] }), /static route 0/],
  ])('rejects %s with a ConfigError naming the file', (_name, text, message) => {
    expect(() => parseRouting(text, 'routes.json')).toThrow(ConfigError);
    expect(() => parseRouting(text, 'routes.json')).toThrow(message);
    expect(() => parseRouting(text, 'routes.json')).toThrow(/routes\.json/);
  });

  it('counts round-robin positions per set', () => {
    const next = roundRobinCounter();
    expect([next('a'), next('a'), next('b'), next('a')]).toEqual([0, 1, 0, 2]);
  });
});
