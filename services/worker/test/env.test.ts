import { describe, expect, it } from 'vitest';
import { ConfigError, workerConfigFromEnv } from '../src/index.js';

describe('workerConfigFromEnv', () => {
  it('defaults to a stateful proxy serving the advertised host', () => {
    const config = workerConfigFromEnv({ SIPEDGE_ADVERTISED: 'sip.example.net:5070' });
    expect(config.stateless).toBe(false);
    expect(config.blacklistTtlMs).toBe(60_000);
    expect([...config.proxy.domains]).toEqual(['sip.example.net']);
    expect([...config.proxy.selfPorts]).toEqual([5070]);
    expect(config.auth).toBeUndefined();
  });

  it('SIPEDGE_ADVERTISED_IPV6 is the address facing IPv6 peers: ours, and a served domain by default', () => {
    const config = workerConfigFromEnv({ SIPEDGE_ADVERTISED: '192.0.2.10', SIPEDGE_ADVERTISED_IPV6: '[2001:DB8::10]' });
    expect(config.proxy.advertised.ipv6Host).toBe('2001:DB8::10');
    expect(config.proxy.selfHosts.has('2001:db8::10')).toBe(true);
    expect([...config.proxy.domains]).toEqual(['192.0.2.10', '2001:db8::10']);
    expect(workerConfigFromEnv({}).proxy.advertised.ipv6Host).toBeUndefined();
    expect(() => workerConfigFromEnv({ SIPEDGE_ADVERTISED_IPV6: 'not an address' })).toThrow(/SIPEDGE_ADVERTISED_IPV6/);
  });

  it('takes the configured listen addresses and ports for its own, wildcards aside (§16.4)', () => {
    const config = workerConfigFromEnv({
      SIPEDGE_ADVERTISED: '198.51.100.1:5060',
      SIPEDGE_UDP: '127.0.0.1:5070,0.0.0.0:5080',
      SIPEDGE_TCP: '[::1]:5070',
    });
    expect([...config.proxy.selfHosts].sort()).toEqual(['127.0.0.1', '198.51.100.1', '::1']);
    expect([...config.proxy.selfPorts].sort()).toEqual([5060, 5070, 5080]);
  });

  it('serves no ops HTTP by default; SIPEDGE_WORKER_HTTP sets where it listens', () => {
    expect(workerConfigFromEnv({}).http).toBeUndefined();
    expect(workerConfigFromEnv({ SIPEDGE_WORKER_HTTP: '' }).http).toBeUndefined();
    expect(workerConfigFromEnv({ SIPEDGE_WORKER_HTTP: '0.0.0.0:8081' }).http).toEqual({
      address: '0.0.0.0',
      port: 8081,
    });
    expect(() => workerConfigFromEnv({ SIPEDGE_WORKER_HTTP: 'nope' })).toThrow(/SIPEDGE_WORKER_HTTP/);
  });

  it('turns on the stateless proxy mode with SIPEDGE_STATELESS', () => {
    expect(workerConfigFromEnv({ SIPEDGE_STATELESS: 'true' }).stateless).toBe(true);
  });

  it('hides no topology by default; SIPEDGE_TOPOLOGY_HIDING needs Record-Route and a stateful proxy', () => {
    expect(workerConfigFromEnv({}).topologyHiding).toBe('off');
    expect(workerConfigFromEnv({ SIPEDGE_TOPOLOGY_HIDING: 'untrusted' }).topologyHiding).toBe('untrusted');
    expect(workerConfigFromEnv({ SIPEDGE_TOPOLOGY_HIDING: 'all' }).topologyHiding).toBe('all');
    expect(() => workerConfigFromEnv({ SIPEDGE_TOPOLOGY_HIDING: 'on' })).toThrow(/SIPEDGE_TOPOLOGY_HIDING/);
    for (const env of [{ SIPEDGE_STATELESS: 'true' }, { SIPEDGE_RECORD_ROUTE: 'false' }]) {
      expect(() => workerConfigFromEnv({ ...env, SIPEDGE_TOPOLOGY_HIDING: 'untrusted' })).toThrow(ConfigError);
      expect(workerConfigFromEnv({ ...env, SIPEDGE_TOPOLOGY_HIDING: 'off' }).topologyHiding).toBe('off');
    }
  });

  it('reads the user table switch with authentication', () => {
    const auth = { SIPEDGE_AUTH_REALM: 'example.com', SIPEDGE_AUTH_SECRET: 'x'.repeat(32) };
    expect(workerConfigFromEnv(auth).auth?.userTable).toBe(false);
    expect(workerConfigFromEnv({ ...auth, SIPEDGE_AUTH_USER_TABLE: 'true' }).auth?.userTable).toBe(true);
  });

  it('challenges with SHA-256 then MD5 by default; SIPEDGE_AUTH_ALGORITHMS sets the list and its order', () => {
    const auth = { SIPEDGE_AUTH_REALM: 'example.com', SIPEDGE_AUTH_SECRET: 'x'.repeat(32) };
    expect(workerConfigFromEnv(auth).auth?.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(workerConfigFromEnv({ ...auth, SIPEDGE_AUTH_ALGORITHMS: 'md5' }).auth?.algorithms).toEqual(['MD5']);
    expect(() => workerConfigFromEnv({ ...auth, SIPEDGE_AUTH_ALGORITHMS: 'SHA-1' })).toThrow(/SIPEDGE_AUTH_ALGORITHMS/);
  });

  it('probes dispatcher hops every 10 s by default and wants the probe timeout below the interval', () => {
    expect(workerConfigFromEnv({}).probe).toEqual({ intervalMs: 10_000, timeoutMs: 5_000, holdDownMs: 30_000 });
    expect(() => workerConfigFromEnv({ SIPEDGE_PROBE_INTERVAL_MS: '1000', SIPEDGE_PROBE_TIMEOUT_MS: '1000' })).toThrow(
      /SIPEDGE_PROBE_TIMEOUT_MS/,
    );
  });

  it('rejects a blacklist TTL that is not a positive integer', () => {
    expect(() => workerConfigFromEnv({ SIPEDGE_BLACKLIST_TTL_MS: '0' })).toThrow(/SIPEDGE_BLACKLIST_TTL_MS/);
  });

  it('rejects a short auth secret and a malformed user entry', () => {
    expect(() => workerConfigFromEnv({ SIPEDGE_AUTH_REALM: 'r', SIPEDGE_AUTH_SECRET: 'short' })).toThrow(ConfigError);
    expect(() =>
      workerConfigFromEnv({
        SIPEDGE_AUTH_REALM: 'r',
        SIPEDGE_AUTH_SECRET: 'x'.repeat(32),
        SIPEDGE_AUTH_USERS: 'alice',
      }),
    ).toThrow(/SIPEDGE_AUTH_USERS/);
  });

  it('runs a call deadline’s job 1 s after its due time by default; SIPEDGE_DEADLINE_TAKEOVER_MS sets it, at most 10 s', () => {
    const base = { SIPEDGE_ADVERTISED: 'sip.example.net' };
    expect(workerConfigFromEnv(base).deadlineTakeoverMs).toBe(1000);
    expect(workerConfigFromEnv({ ...base, SIPEDGE_DEADLINE_TAKEOVER_MS: '0' }).deadlineTakeoverMs).toBe(0);
    expect(() => workerConfigFromEnv({ ...base, SIPEDGE_DEADLINE_TAKEOVER_MS: '10001' })).toThrow(ConfigError);
    expect(() => workerConfigFromEnv({ ...base, SIPEDGE_DEADLINE_TAKEOVER_MS: '-1' })).toThrow(ConfigError);
  });
});
