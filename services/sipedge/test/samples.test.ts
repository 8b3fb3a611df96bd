import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config-file.js';
import { planRole } from '../src/roles.js';

const configDir = new URL('../../../config/', import.meta.url).pathname;
const secret = { SIPEDGE_AUTH_SECRET: 'a-secret-of-at-least-32-characters!' };
const fleet = {
  NATS_URL: 'nats://127.0.0.1:4222',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SIPEDGE_EDGE_ID: 'edge-1',
  SIPEDGE_FLEET_SECRET: 'a-fleet-secret-of-at-least-32-characters',
};

/** The edge and worker configuration a sample gives, through the real loader. */
function plan(name: string, environment: Record<string, string> = {}) {
  return planRole('all', loadSettings(join(configDir, name), { ...secret, ...environment }).env);
}

describe('sample configuration files (config/)', () => {
  it('has the documented samples', () => {
    expect(readdirSync(configDir).filter((f) => f.endsWith('.yaml'))).toEqual([
      'proxy-backend-pool.yaml',
      'registrar-digest.yaml',
    ]);
  });

  it.each(['proxy-backend-pool.yaml', 'registrar-digest.yaml'])(
    '%s builds an edge and a worker configuration, in memory and in a fleet',
    (name) => {
      const standalone = plan(name);
      expect(standalone.edge?.edgeId).toBe('standalone');
      expect(standalone.worker?.workerId).toBe('standalone');
      expect(plan(name, fleet).connections).toEqual({
        natsUrl: fleet.NATS_URL,
        redis: { url: fleet.REDIS_URL },
        timerShards: 1,
      });
    },
  );

  it('proxy-backend-pool.yaml: dispatcher sets with probing behind static routes', () => {
    const { worker, edge } = plan('proxy-backend-pool.yaml');
    expect(edge?.advertised).toEqual({ host: 'proxy.example.com', port: 5060 });
    expect(worker?.routing.staticRoutes.map((r) => r.to)).toEqual([{ dispatcher: 'backends' }, { dispatcher: 'pstn' }]);
    expect(Object.values(worker!.routing.dispatchers).map((d) => [d.name, d.algorithm, d.hops.length])).toEqual([
      ['backends', 'round-robin', 3],
      ['pstn', 'hash', 2],
    ]);
    expect(worker?.probe).toEqual({ intervalMs: 5000, timeoutMs: 2000, holdDownMs: 30_000 });
    expect(worker?.trusted).toContain('10.0.0.0/8');
  });

  it('registrar-digest.yaml: digest authentication for REGISTER and proxied requests', () => {
    const { worker } = plan('registrar-digest.yaml');
    expect(worker?.auth).toMatchObject({ realm: 'example.com', register: true, proxy: true, userTable: true });
    expect([...worker!.proxy.domains]).toEqual(['example.com', 'sip.example.com']);
    expect(worker?.registrar).toEqual({ minExpires: 60, maxExpires: 3600, defaultExpires: 600, maxContacts: 5 });
  });

  it('registrar-digest.yaml wants the secret from the environment and says where to put it', () => {
    const path = join(configDir, 'registrar-digest.yaml');
    const settings = loadSettings(path, {});
    expect(() => {
      try {
        planRole('all', settings.env);
      } catch (error) {
        throw settings.explain(error);
      }
    }).toThrow(`auth.secret (in ${path}) or SIPEDGE_AUTH_SECRET: expected a secret of at least 32 characters`);
  });
});
