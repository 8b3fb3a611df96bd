import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type TestCertificates, issueTestCertificate, makeTestCertificates } from './tls.js';

/**
 * A temporary directory (removed after all tests) into which a beforeAll writes the PEM files of a
 * test PKI: `ca.pem`; `tls.crt` and `tls.key`, the loopback server's pair; `sni.crt` and `sni.key`,
 * a pair for sip.example.com only; and the files `more` adds (name → PEM). `file` gives a path in it.
 */
export function testPemFiles(
  prefix: string,
  more: (pki: TestCertificates) => Promise<Record<string, string>> = async () => ({}),
): { dir: string; file: (name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string): string => join(dir, name);
  beforeAll(async () => {
    const pki = await makeTestCertificates();
    const sni = await issueTestCertificate(pki, { dnsNames: ['sip.example.com'], ipAddresses: [] });
    const pems = { 'ca.pem': pki.ca, 'tls.crt': pki.cert, 'tls.key': pki.key, 'sni.crt': sni.cert, 'sni.key': sni.key };
    for (const [name, pem] of Object.entries({ ...pems, ...(await more(pki)) })) writeFileSync(file(name), pem);
  });
  return { dir, file };
}
