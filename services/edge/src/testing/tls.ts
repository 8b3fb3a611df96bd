import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate (PEM) and its private key (PEM). */
export interface TestKeyPair {
  key: string;
  cert: string;
}

/** A CA that can issue more certificates (issueTestCertificate). */
export interface TestCa {
  /** The CA certificate: what clients trust. */
  ca: string;
  /** The CA's private key. */
  caKey: string;
}

/** PEM strings of a throw-away test PKI: a CA and a server certificate it signed. */
export interface TestCertificates extends TestCa, TestKeyPair {}

export interface TestCertificateOptions {
  /** The subject's common name (default localhost). */
  commonName?: string;
  /** The certificate's subject alternative names (default localhost, 127.0.0.1 and ::1). */
  dnsNames?: string[];
  ipAddresses?: string[];
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Makes a CA and a server certificate (P-256 keys, valid one day, usable for serverAuth and
 * clientAuth) with the `openssl` CLI in a temporary directory, which is removed again.
 */
export async function makeTestCertificates(options: TestCertificateOptions = {}): Promise<TestCertificates> {
  const ca = await inTempDir(async (file) => {
    await run('openssl', [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=sipedge test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const [cert, key] = await Promise.all([readFile(file('ca.pem'), 'utf8'), readFile(file('ca.key'), 'utf8')]);
    return { ca: cert, caKey: key };
  });
  return { ...ca, ...(await issueTestCertificate(ca, options)) };
}

/** Issues another certificate from `issuer` (a new P-256 key, valid one day, serverAuth and clientAuth). */
export async function issueTestCertificate(issuer: TestCa, options: TestCertificateOptions = {}): Promise<TestKeyPair> {
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1', '::1'];
  return inTempDir(async (file) => {
    await Promise.all([writeFile(file('ca.pem'), issuer.ca), writeFile(file('ca.key'), issuer.caKey)]);
    await run('openssl', [
      'req',
      ...EC_KEY,
      '-keyout',
      file('leaf.key'),
      '-out',
      file('leaf.csr'),
      '-subj',
      `/CN=${options.commonName ?? 'localhost'}`,
    ]);
    const names = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((a) => `IP:${a}`)];
    await writeFile(
      file('leaf.ext'),
      [
        ...(names.length > 0 ? [`subjectAltName=${names.join(',')}`] : []),
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('leaf.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      String(randomInt(2, 2 ** 47)),
      '-days',
      '1',
      '-extfile',
      file('leaf.ext'),
      '-out',
      file('leaf.pem'),
    ]);
    const [key, cert] = await Promise.all([readFile(file('leaf.key'), 'utf8'), readFile(file('leaf.pem'), 'utf8')]);
    return { key, cert };
  });
}

/** Runs `work` with a new temporary directory (`file(name)` is a path in it), removed afterwards. */
async function inTempDir<T>(work: (file: (name: string) => string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sipedge-tls-'));
  try {
    return await work((name) => join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
