import { testPemFiles } from '@sipedge/edge/testing';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config-file.js';
import { planRole } from '../src/roles.js';
import { configFile, startError } from './support/config.js';

/** Paths of the test PKI's PEM files. */
const { file } = testPemFiles('sipedge-tls-settings-');

/** What an edge needs besides the file. */
const EDGE_ENV = { SIPEDGE_EDGE_ID: 'e1', REDIS_URL: 'redis://x', NATS_URL: 'nats://x' };

/** A configuration file with a TLS listener and the `sip.tls` keys in `more` (YAML lines). */
function tlsConfig(...more: string[]): string {
  const lines = [
    'sip:',
    '  tls:',
    '    listen: ["127.0.0.1:5061"]',
    `    certFile: ${file('tls.crt')}`,
    `    keyFile: ${file('tls.key')}`,
    ...more.map((line) => `    ${line}`),
  ];
  return configFile(`${lines.join('\n')}\n`);
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
    const { edge } = planRole('edge', loadSettings(path, EDGE_ENV).env);
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
    expect(startError(path, EDGE_ENV, 'edge').message).toBe(
      `sip.tls.minVersion (in ${path}): TLSv1.1 is not allowed: TLS 1.0 and 1.1 are deprecated (RFC 8996); use TLSv1.2 or TLSv1.3`,
    );
    const ciphers = tlsConfig('ciphers: NO-SUCH-CIPHER');
    expect(startError(ciphers, EDGE_ENV, 'edge').message).toMatch(
      new RegExp(`^sip\\.tls\\.ciphers \\(in ${ciphers}\\): not a usable`),
    );
    const sni = tlsConfig(`sniCerts: ["${file('sni.crt')}:${file('tls.key')}"]`);
    expect(startError(sni, EDGE_ENV, 'edge').message).toContain(
      `sip.tls.sniCerts (in ${sni}): key file "${file('tls.key')}"`,
    );
  });

  it('names the missing CA file for client certificates as the key or the variable', () => {
    const path = tlsConfig('clientCert: require');
    expect(startError(path, EDGE_ENV, 'edge').message).toBe(
      `sip.tls.caFile (in ${path}) or SIPEDGE_TLS_CA_FILE: required when SIPEDGE_TLS_CLIENT_CERT is "require"`,
    );
  });
});
