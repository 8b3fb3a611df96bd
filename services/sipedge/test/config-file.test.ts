import { dirname, join } from 'node:path';
import { ConfigError } from '@sipedge/config';
import { describe, expect, it } from 'vitest';
import { loadSettings, parseConfigFile } from '../src/config-file.js';
import { planRole } from '../src/roles.js';
import { configFile, startError } from './support/config.js';

describe('configuration file', () => {
  it('flattens every kind of value into environment variables', () => {
    const { values } = parseConfigFile(
      `
sip:
  udp: ["127.0.0.1:5070", "[::1]:5070"]
  tcp: []
  advertised: sip.example.com:5070
  selfPorts: [5071, 5072]
edge:
  id: 7
  http: 127.0.0.1:9090
  rateLimit: { perSecond: 50, action: drop }
proxy: { domains: [example.com, example.org], recordRoute: false }
auth:
  realm: example.com
  users:
    - { username: alice, password: "s3cret:with colon" }
    - { username: bob, password: pw }
log: { level: warn }
`,
      'all.yaml',
    );
    expect(values).toEqual({
      SIPEDGE_UDP: '127.0.0.1:5070,[::1]:5070',
      SIPEDGE_TCP: '',
      SIPEDGE_ADVERTISED: 'sip.example.com:5070',
      SIPEDGE_SELF_PORTS: '5071,5072',
      SIPEDGE_EDGE_ID: '7',
      SIPEDGE_HTTP: '127.0.0.1:9090',
      SIPEDGE_RATE_LIMIT_PER_SECOND: '50',
      SIPEDGE_RATE_LIMIT_ACTION: 'drop',
      SIPEDGE_DOMAINS: 'example.com,example.org',
      SIPEDGE_RECORD_ROUTE: 'false',
      SIPEDGE_AUTH_REALM: 'example.com',
      SIPEDGE_AUTH_USERS: 'alice:s3cret:with colon,bob:pw',
      LOG_LEVEL: 'warn',
    });
  });

  it('treats an empty file as no settings', () => {
    expect(parseConfigFile('# nothing yet\n', 'empty.yaml').values).toEqual({});
  });

  it.each([
    ['sip:\n  udpp: ["127.0.0.1:5060"]\n', 'x.yaml: unknown key "sip.udpp" (did you mean "sip.udp"?)'],
    ['proxy:\n  domain: [example.com]\n', 'x.yaml: unknown key "proxy.domain" (did you mean "proxy.domains"?)'],
    ['SIPEDGE_UDP: ["127.0.0.1:5060"]\n', 'x.yaml: unknown key "SIPEDGE_UDP" (did you mean "sip.udp"?)'],
    ['colour: blue\n', 'x.yaml: unknown key "colour"'],
    ['sip:\n  udp: { host: 127.0.0.1 }\n', 'sip.udp (in x.yaml): expected a list of host:port strings, got a map'],
    ['sip: ["127.0.0.1:5060"]\n', 'sip (in x.yaml): expected a map of settings, got a list'],
    ['timers: { t1Ms: "500" }\n', 'timers.t1Ms (in x.yaml): expected an integer, got the string "500"'],
    ['proxy: { stateless: yes please }\n', 'proxy.stateless (in x.yaml): expected true or false, got the string'],
    ['edge: { id: }\n', 'edge.id (in x.yaml): expected a string, got nothing'],
    ['proxy: { domains: ["a.example,b.example"] }\n', 'proxy.domains (in x.yaml): entry "a.example,b.example"'],
    ['auth: { users: [alice] }\n', 'auth.users (in x.yaml): expected a list of {username, password} maps'],
    ['auth: { users: [{ username: a, password: b, realm: c }] }\n', 'auth.users (in x.yaml): unknown field "realm"'],
    ['auth: { users: [{ username: "a:b", password: c }] }\n', 'auth.users (in x.yaml): username "a:b": no colons'],
    ['routing: { dispatchers: { name: gw } }\n', 'routing.dispatchers (in x.yaml): expected a list, got a map'],
    ['- just\n- a list\n', 'x.yaml: expected a map of settings, got a list'],
    ['sip: [unclosed\n', 'x.yaml: not valid YAML'],
    ['a: 1\na: 2\n', 'x.yaml: not valid YAML'],
  ])('rejects %j', (text, message) => {
    expect(() => parseConfigFile(text, 'x.yaml')).toThrow(ConfigError);
    expect(() => parseConfigFile(text, 'x.yaml')).toThrow(message);
  });

  it('names a file it cannot read', () => {
    expect(() => loadSettings(join(dirname(configFile('')), 'missing.yaml'), {})).toThrow(
      /--config: cannot read ".*missing\.yaml"/,
    );
  });

  it('names a value the edge or worker rejects by its YAML key when it came from the file', () => {
    const path = configFile('sip:\n  udp: ["127.0.0.1"]\n');
    const error = startError(path, {});
    expect(error.message).toBe(
      `sip.udp (in ${path}): expected host:port[,host:port…] (IPv6 as [addr]:port), got "127.0.0.1"`,
    );
    expect(error.setting).toBe('SIPEDGE_UDP');
    expect(startError(configFile('routing:\n  probe: { intervalMs: 1000, timeoutMs: 1000 }\n'), {}).message).toMatch(
      /^routing\.probe\.timeoutMs \(in .*\): must be less than the probe interval/,
    );
    expect(startError(configFile('edge:\n  id: edge.1\n'), {}, 'all').message).toMatch(
      /^edge\.id \(in .*\): edge id: expected 1–64 of A–Z a–z 0–9 _ -, got "edge.1"/,
    );
    expect(startError(configFile('log: { level: loud }\n'), {}).message).toMatch(
      /^log\.level \(in .*\): expected one of "fatal", .*, got "loud"/,
    );
  });

  it('lets environment variables override the file, and names a bad one by its variable', () => {
    const path = configFile(
      'sip:\n  udp: ["127.0.0.1:5070"]\n  tcp: ["127.0.0.1:5070"]\nproxy:\n  domains: [a.example]\n',
    );
    const settings = loadSettings(path, { SIPEDGE_UDP: '127.0.0.1:6000', SIPEDGE_DOMAINS: undefined });
    expect(settings.env['SIPEDGE_UDP']).toBe('127.0.0.1:6000');
    expect(settings.env['SIPEDGE_TCP']).toBe('127.0.0.1:5070');
    expect(settings.env['SIPEDGE_DOMAINS']).toBe('a.example');
    const plan = planRole('all', settings.env);
    expect(plan.edge?.udp).toEqual([{ address: '127.0.0.1', port: 6000 }]);
    expect([...plan.worker!.proxy.domains]).toEqual(['a.example']);
    expect(startError(path, { SIPEDGE_UDP: 'nowhere' }).message).toMatch(/^SIPEDGE_UDP: expected host:port/);
  });

  it('names a missing setting both ways when a file is in use', () => {
    const path = configFile('redis:\n  url: redis://127.0.0.1:6379\n');
    expect(startError(path, {}).message).toBe(
      `nats.url (in ${path}) or NATS_URL: expected nats://host:port (with one of Redis and NATS set, both are needed; neither runs in memory)`,
    );
    expect(startError(path, { NATS_URL: 'nats://127.0.0.1:4222' }, 'edge').message).toMatch(
      /^edge\.id \(in .*\) or SIPEDGE_EDGE_ID: expected a unique edge id/,
    );
  });

  it('takes routing inline, checked like a routing file and named by its key', () => {
    const inline = `
routing:
  staticRoutes:
    - match: { domain: pstn.example.net }
      to: { dispatcher: gateways }
  dispatchers:
    - name: gateways
      algorithm: hash
      hops: [{ uri: "sip:gw1.example.net" }, { uri: "sip:gw2.example.net", weight: 0 }]
`;
    const plan = planRole('worker', {
      ...loadSettings(configFile(inline), {}).env,
      NATS_URL: 'nats://127.0.0.1:4222',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SIPEDGE_FLEET_SECRET: FLEET_SECRET,
    });
    expect(plan.worker?.routing.staticRoutes).toEqual([
      { match: { domain: 'pstn.example.net' }, to: { dispatcher: 'gateways' } },
    ]);
    expect(plan.worker?.routing.dispatchers['gateways']?.hops).toHaveLength(2);
    const missingSet = configFile('routing:\n  staticRoutes: [{ match: {}, to: { dispatcher: nope } }]\n');
    expect(startError(missingSet, {}).message).toBe(
      `routing (in ${missingSet}): static route 0: no dispatcher set named "nope"`,
    );
    const both = configFile(`${inline}  file: routes.json\n`);
    expect(startError(both, {}).message).toMatch(/^routing \(in .*\): cannot be combined with a routing file/);
  });
});

describe('roles and connections', () => {
  it('runs all in memory without REDIS_URL and NATS_URL, naming its edge and worker standalone', () => {
    const plan = planRole('all', {});
    expect(plan.connections).toBe('memory');
    expect([plan.edge?.edgeId, plan.worker?.workerId]).toEqual(['standalone', 'standalone']);
  });

  it('runs the standalone worker on a thread of its own with SIPEDGE_THREADS 2, signing with the process’s secret', () => {
    const plan = planRole('all', { SIPEDGE_THREADS: '2' });
    expect(plan.workerThread?.env.SIPEDGE_THREADS).toBe('2');
    expect(plan.workerThread?.env.SIPEDGE_FLEET_SECRET).toBe(plan.worker?.fleetSecret?.secret);
    expect(plan.workerThread?.env.SIPEDGE_WORKER_ID).toBe('standalone');
    expect(planRole('all', { SIPEDGE_THREADS: '1' }).workerThread).toBeUndefined();
    expect(planRole('all', {}).workerThread).toBeUndefined();
    expect(() => planRole('all', { SIPEDGE_THREADS: '3' })).toThrow(/^SIPEDGE_THREADS: expected one of "1", "2"/);
    // In a fleet, processes scale instead: the setting is for standalone mode only.
    const fleet = {
      NATS_URL: 'nats://127.0.0.1:4222',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SIPEDGE_FLEET_SECRET: FLEET_SECRET,
      SIPEDGE_EDGE_ID: 'e1',
      SIPEDGE_THREADS: '2',
    };
    expect(planRole('all', fleet).workerThread).toBeUndefined();
  });

  it('runs all on Redis and NATS with both set, and refuses only one of them', () => {
    const urls = {
      NATS_URL: 'nats://127.0.0.1:4222',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SIPEDGE_FLEET_SECRET: FLEET_SECRET,
    };
    expect(() => planRole('all', urls)).toThrow(/SIPEDGE_EDGE_ID/);
    expect(planRole('all', { ...urls, SIPEDGE_EDGE_ID: 'e1' }).connections).toEqual({
      natsUrl: urls.NATS_URL,
      redis: { url: urls.REDIS_URL },
      timerShards: 1,
    });
    expect(() => planRole('all', { REDIS_URL: urls.REDIS_URL })).toThrow(/^NATS_URL: expected nats:\/\/host:port/);
    expect(() => planRole('all', { NATS_URL: urls.NATS_URL })).toThrow(/^REDIS_URL: expected redis:\/\/host:port/);
  });

  it('takes a Redis Cluster or Sentinels instead of one server, and exactly one of the three', () => {
    const fleet = { NATS_URL: 'nats://127.0.0.1:4222', SIPEDGE_FLEET_SECRET: FLEET_SECRET };
    expect(
      planRole('worker', { ...fleet, REDIS_CLUSTER: '10.0.0.1:7000,[fd00::2]:7001', SIPEDGE_TIMER_SHARDS: '3' })
        .connections,
    ).toEqual({
      natsUrl: fleet.NATS_URL,
      redis: {
        cluster: [
          { host: '10.0.0.1', port: 7000 },
          { host: 'fd00::2', port: 7001 },
        ],
      },
      timerShards: 3,
    });
    expect(planRole('worker', { ...fleet, REDIS_SENTINELS: 's1:26379,s2:26379' }).connections).toMatchObject({
      redis: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        name: 'mymaster',
      },
    });
    expect(
      planRole('worker', { ...fleet, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'calls' }).connections,
    ).toMatchObject({ redis: { name: 'calls' } });
    expect(() => planRole('worker', { ...fleet, REDIS_URL: 'redis://r:6379', REDIS_CLUSTER: 'r:7000' })).toThrow(
      /^REDIS_CLUSTER: set only one of REDIS_URL, REDIS_CLUSTER, REDIS_SENTINELS/,
    );
    // Empty is unset, as for every variable: then one of the three is missing.
    expect(() => planRole('worker', { ...fleet, REDIS_CLUSTER: '' })).toThrow(
      /^REDIS_URL: expected redis:\/\/host:port, or REDIS_CLUSTER or REDIS_SENTINELS/,
    );
    expect(() => planRole('worker', { ...fleet, REDIS_CLUSTER: 'nowhere' })).toThrow(/^REDIS_CLUSTER/);
    expect(() => planRole('worker', { ...fleet, REDIS_URL: 'redis://r', SIPEDGE_TIMER_SHARDS: '0' })).toThrow(
      /^SIPEDGE_TIMER_SHARDS/,
    );
    // Any of the three counts as Redis set: `all` then needs NATS too instead of running in memory.
    expect(() => planRole('all', { REDIS_SENTINELS: 's1:26379' })).toThrow(/^NATS_URL/);
  });

  it('needs REDIS_URL and NATS_URL for an edge or a worker, and configures only its part', () => {
    expect(() => planRole('worker', {})).toThrow(/^NATS_URL/);
    const urls = {
      NATS_URL: 'nats://127.0.0.1:4222',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SIPEDGE_FLEET_SECRET: FLEET_SECRET,
    };
    const worker = planRole('worker', urls);
    expect([worker.edge, worker.worker?.workerId]).toEqual([undefined, `worker-${process.pid}`]);
    expect(planRole('edge', { ...urls, SIPEDGE_EDGE_ID: 'e1' }).worker).toBeUndefined();
  });

  it('needs the fleet secret for a worker in a fleet, and makes a random one standalone', () => {
    const urls = { NATS_URL: 'nats://127.0.0.1:4222', REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(() => planRole('worker', urls)).toThrow(/^SIPEDGE_FLEET_SECRET: required in a fleet/);
    expect(() => planRole('worker', { ...urls, SIPEDGE_FLEET_SECRET: 'short' })).toThrow(
      /^SIPEDGE_FLEET_SECRET: expected at least 32 characters/,
    );
    expect(() =>
      planRole('worker', { ...urls, SIPEDGE_FLEET_SECRET: FLEET_SECRET, SIPEDGE_FLEET_SECRET_PREVIOUS: 'old' }),
    ).toThrow(/^SIPEDGE_FLEET_SECRET_PREVIOUS: expected at least 32 characters/);
    expect(planRole('edge', { ...urls, SIPEDGE_EDGE_ID: 'e1' }).edge?.edgeId).toBe('e1');
    const standalone = [planRole('all', {}), planRole('all', {})];
    expect(standalone.map((p) => p.randomFleetSecret)).toEqual([true, true]);
    expect(standalone[0]!.worker!.fleetSecret!.secret).not.toBe(standalone[1]!.worker!.fleetSecret!.secret);
    expect(planRole('all', { SIPEDGE_FLEET_SECRET: FLEET_SECRET }).worker?.fleetSecret).toEqual({
      secret: FLEET_SECRET,
      previous: [],
    });
  });
});

const FLEET_SECRET = 'a-fleet-secret-of-at-least-32-characters';
