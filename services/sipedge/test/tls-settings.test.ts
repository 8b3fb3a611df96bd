import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@sipedge/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueTestCertificate, makeTestCertificates } from '../../edge/test/support/tls.js';
import { loadSettings } from '../src/config-file.js';
import { planRole } from '../src/roles.js';

const dir = mkdtempSync(join(tmpdir(), 'sipedge-tls-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => join(dir, name);

beforeAll(async () => {
  const pki = await makeTestCertificates();
  const sni = await issueTestCertificate(pki, { dnsNames: ['sip.example.com'], ipAddresses: [] });
  const pems = { 'ca.pem': pki.ca, 'tls.crt': pki.cert, 'tls.key': pki.key, 'sni.crt': sni.cert, 'sni.key': sni.key };
  for (const [name, pem] of Object.entries(pems)) writeFileSync(file(name), pem);
});

/** A configuration file with a TLS listener and the `sip.tls` keys in `more` (YAML lines). */
function tlsConfig(...more: string[]): string {
  const path = join(mkdtempSync(join(dir, 'case-')), 'sipedge.yaml');
  const lines = [
    'sip:',
    '  tls:',
    '    listen: ["127.0.0.1:5061"]',
    `    certFile: ${file('tls.crt')}`,
    `    keyFile: ${file('tls.key')}`,
    ...more.map((line) => `    ${line}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The ConfigError starting the `edge` role with `path` throws, restated as the CLI reports it. */
function startError(path: string): ConfigError {
  const settings = loadSettings(path, { SIPEDGE_EDGE_ID: 'e1', REDIS_URL: 'redis://x', NATS_URL: 'nats://x' });
  try {
    planRole('edge', settings.env);
  } catch (error) {
    const explained = settings.explain(error);
    expect(explained).toBeInstanceOf(ConfigError);
    return explained as ConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('sip.tls settings in a configuration file', () => {
  it('reads the SNI certificates, protocol floor, ciphers, client certificates and reload interval', () => {
    const path = tlsConfig(
      `sniCerts: ["${file('sni.crt')}:${file('sni.key')}"]`,
      'minVersion: TLSv1.3',
      'ciphers: "ECDHE+AESGCM:!aNULL"',
      'clientCert: require',
      `caFile: ${file('ca.pem')}`,
      'reloadIntervalMs: 2000',
    );
    const { edge } = planRole(
      'edge',
      loadSettings(path, { SIPEDGE_EDGE_ID: 'e1', REDIS_URL: 'redis://x', NATS_URL: 'nats://x' }).env,
    );
    expect(edge?.tls).toMatchObject({
      minVersion: 'TLSv1.3',
      ciphers: 'ECDHE+AESGCM:!aNULL',
      clientCert: 'require',
      reload: {
        files: {
          certFile: file('tls.crt'),
          keyFile: file('tls.key'),
          caFile: file('ca.pem'),
          sni: [{ certFile: file('sni.crt'), keyFile: file('sni.key') }],
        },
        intervalMs: 2000,
      },
    });
  });

  it('names the YAML key of a refused value', () => {
    const path = tlsConfig('minVersion: TLSv1.1');
    expect(startError(path).message).toBe(
      `sip.tls.minVersion (in ${path}): TLSv1.1 is not allowed: TLS 1.0 and 1.1 are deprecated (RFC 8996); use TLSv1.2 or TLSv1.3`,
    );
    const ciphers = tlsConfig('ciphers: NO-SUCH-CIPHER');
    expect(startError(ciphers).message).toMatch(new RegExp(`^sip\\.tls\\.ciphers \\(in ${ciphers}\\): not a usable`));
    const sni = tlsConfig(`sniCerts: ["${file('sni.crt')}:${file('tls.key')}"]`);
    expect(startError(sni).message).toContain(`sip.tls.sniCerts (in ${sni}): key file "${file('tls.key')}"`);
  });

  it('names the missing CA file for client certificates as the key or the variable', () => {
    const path = tlsConfig('clientCert: require');
    expect(startError(path).message).toBe(
      `sip.tls.caFile (in ${path}) or SIPEDGE_TLS_CA_FILE: required when SIPEDGE_TLS_CLIENT_CERT is "require"`,
    );
  });
});
