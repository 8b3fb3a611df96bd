import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServernameTable, dnsNames } from '../src/transports/tls-names.js';
import { makeTestCertificates } from '../src/testing/index.js';

describe('dnsNames', () => {
  it('lists the subjectAltName DNS entries, lower-cased, and not the IP addresses or the common name', async () => {
    const { cert } = await makeTestCertificates({
      dnsNames: ['SIP.Example.com', '*.example.org'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    expect(dnsNames(new X509Certificate(cert))).toEqual(['sip.example.com', '*.example.org']);
    const { cert: nameless } = await makeTestCertificates({ dnsNames: [], ipAddresses: ['192.0.2.1'] });
    expect(dnsNames(new X509Certificate(nameless))).toEqual([]);
  });
});

describe('ServernameTable', () => {
  const table = new ServernameTable<string>();
  table.add(['*.example.org', 'x*.example.net'], 'wildcard');
  table.add(['a.example.org', 'sip.example.com.'], 'exact');
  table.add(['sip.example.com'], 'later');

  it.each([
    ['a.example.org', 'exact'],
    ['A.EXAMPLE.ORG.', 'exact'],
    ['b.example.org', 'wildcard'],
    ['sip.example.com', 'exact'],
    ['x.b.example.org', undefined],
    ['example.org', undefined],
    ['.example.org', undefined],
    ['xy.example.net', undefined],
    ['other.test', undefined],
  ])('finds %s: %s', (servername, value) => {
    expect(table.lookup(servername)).toBe(value);
  });
});
