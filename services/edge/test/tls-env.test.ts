import { describe, expect, it } from 'vitest';
import { ConfigError, edgeConfigFromEnv } from '../src/env.js';
import { issueTestCertificate, testPemFiles } from '../src/testing/index.js';

/** Paths of the PEM files: the test PKI's and those for refused SNI pairs. */
const { file } = testPemFiles('sipedge-tls-env-', async (pki) => {
  const noNames = await issueTestCertificate(pki, { dnsNames: [], ipAddresses: ['192.0.2.1'] });
  const other = await issueTestCertificate(pki);
  return { 'no-names.crt': noNames.cert, 'no-names.key': noNames.key, 'other.key': other.key };
});

/** The environment of an edge with a TLS listener, plus `extra`. */
function tlsEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    SIPEDGE_EDGE_ID: 'e1',
    SIPEDGE_TLS: '127.0.0.1:5061',
    SIPEDGE_TLS_CERT_FILE: file('tls.crt'),
    SIPEDGE_TLS_KEY_FILE: file('tls.key'),
    ...extra,
  };
}

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    edgeConfigFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('TLS settings from the environment', () => {
  it('defaults: TLSv1.2 at least, Node ciphers, no client certificates, files re-read every 10 s', () => {
    const tls = edgeConfigFromEnv(tlsEnv()).tls!;
    expect(tls).toMatchObject({
      listen: [{ address: '127.0.0.1', port: 5061 }],
      minVersion: 'TLSv1.2',
      clientCert: 'off',
    });
    expect(tls.ciphers).toBeUndefined();
    expect(tls.reload).toEqual({ files: { certFile: file('tls.crt'), keyFile: file('tls.key') }, intervalMs: 10_000 });
    expect(tls.cert).toContain('BEGIN CERTIFICATE');
  });

  it('reads the protocol floor, ciphers, SNI pairs, client certificates and the reload interval', () => {
    const tls = edgeConfigFromEnv(
      tlsEnv({
        SIPEDGE_TLS_MIN_VERSION: 'TLSv1.3',
        SIPEDGE_TLS_CIPHERS: 'ECDHE+AESGCM',
        SIPEDGE_TLS_SNI_CERTS: `${file('sni.crt')}:${file('sni.key')}`,
        SIPEDGE_TLS_CLIENT_CERT: 'require',
        SIPEDGE_TLS_CA_FILE: file('ca.pem'),
        SIPEDGE_TLS_RELOAD_INTERVAL_MS: '0',
      }),
    ).tls!;
    expect(tls).toMatchObject({ minVersion: 'TLSv1.3', ciphers: 'ECDHE+AESGCM', clientCert: 'require' });
    expect(tls.sni).toHaveLength(1);
    expect(tls.ca).toContain('BEGIN CERTIFICATE');
    expect(tls.reload).toBeUndefined();
  });

  it.each([
    ['TLSv1.1', /^SIPEDGE_TLS_MIN_VERSION: TLSv1\.1 is not allowed: TLS 1\.0 and 1\.1 are deprecated \(RFC 8996\)/],
    ['TLSv1', /^SIPEDGE_TLS_MIN_VERSION: TLSv1 is not allowed/],
    ['SSLv3', /^SIPEDGE_TLS_MIN_VERSION: expected one of "TLSv1\.2", "TLSv1\.3", got "SSLv3"/],
  ])('refuses %s as the minimum version', (version, message) => {
    const error = configError(tlsEnv({ SIPEDGE_TLS_MIN_VERSION: version }));
    expect(error.setting).toBe('SIPEDGE_TLS_MIN_VERSION');
    expect(error.message).toMatch(message);
  });

  it('refuses a cipher list OpenSSL matches no cipher with', () => {
    const error = configError(tlsEnv({ SIPEDGE_TLS_CIPHERS: 'NO-SUCH-CIPHER' }));
    expect(error.setting).toBe('SIPEDGE_TLS_CIPHERS');
    expect(error.message).toMatch(/not a usable OpenSSL cipher list "NO-SUCH-CIPHER": .*no cipher match/);
  });

  it('refuses a key that does not belong to its certificate, naming both files', () => {
    const error = configError(tlsEnv({ SIPEDGE_TLS_KEY_FILE: file('other.key') }));
    expect(error.setting).toBe('SIPEDGE_TLS_KEY_FILE');
    expect(error.message).toBe(
      `SIPEDGE_TLS_KEY_FILE: key file "${file('other.key')}" (of certificate file "${file('tls.crt')}"): ` +
        'does not match the certificate (not its private key)',
    );
  });

  it('refuses an SNI pair whose key does not match, or whose certificate has no DNS name', () => {
    const mismatch = configError(tlsEnv({ SIPEDGE_TLS_SNI_CERTS: `${file('sni.crt')}:${file('other.key')}` }));
    expect(mismatch.setting).toBe('SIPEDGE_TLS_SNI_CERTS');
    expect(mismatch.message).toContain(`key file "${file('other.key')}" (of certificate file "${file('sni.crt')}")`);
    const nameless = configError(
      tlsEnv({
        SIPEDGE_TLS_SNI_CERTS: `${file('sni.crt')}:${file('sni.key')},${file('no-names.crt')}:${file('no-names.key')}`,
      }),
    );
    expect(nameless.setting).toBe('SIPEDGE_TLS_SNI_CERTS');
    expect(nameless.message).toContain(`certificate file "${file('no-names.crt')}": has no DNS name`);
  });

  it.each(['sni.crt', 'a:b:c', ':key.pem'])('refuses the SNI entry "%s"', (entry) => {
    const error = configError(tlsEnv({ SIPEDGE_TLS_SNI_CERTS: entry }));
    expect(error.setting).toBe('SIPEDGE_TLS_SNI_CERTS');
    expect(error.message).toContain(`expected CERT_FILE:KEY_FILE[,CERT_FILE:KEY_FILE…], got "${entry}"`);
  });

  it.each(['request', 'require'])('needs a CA file for client certificates "%s"', (mode) => {
    const error = configError(tlsEnv({ SIPEDGE_TLS_CLIENT_CERT: mode }));
    expect(error.setting).toBe('SIPEDGE_TLS_CA_FILE');
    expect(error.message).toBe(`SIPEDGE_TLS_CA_FILE: required when SIPEDGE_TLS_CLIENT_CERT is "${mode}"`);
  });

  it('refuses an unknown client certificate mode, a CA file without certificates, an unreadable file', () => {
    expect(configError(tlsEnv({ SIPEDGE_TLS_CLIENT_CERT: 'optional' })).setting).toBe('SIPEDGE_TLS_CLIENT_CERT');
    const ca = configError(tlsEnv({ SIPEDGE_TLS_CA_FILE: file('tls.key') }));
    expect(ca.setting).toBe('SIPEDGE_TLS_CA_FILE');
    expect(ca.message).toContain(`CA file "${file('tls.key')}": not a PEM certificate`);
    const missing = configError(tlsEnv({ SIPEDGE_TLS_CERT_FILE: file('missing.crt') }));
    expect(missing.setting).toBe('SIPEDGE_TLS_CERT_FILE');
    expect(missing.message).toContain(`certificate file "${file('missing.crt')}": cannot read: ENOENT`);
    expect(configError(tlsEnv({ SIPEDGE_TLS_RELOAD_INTERVAL_MS: '-1' })).setting).toBe(
      'SIPEDGE_TLS_RELOAD_INTERVAL_MS',
    );
  });

  it('reads no TLS setting without a TLS listen address', () => {
    expect(edgeConfigFromEnv({ SIPEDGE_EDGE_ID: 'e1', SIPEDGE_TLS_MIN_VERSION: 'TLSv1.1' }).tls).toBeUndefined();
  });
});
