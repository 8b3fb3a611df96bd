import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConnectionOptions,
  type TLSSocket,
  type TlsOptions,
  connect as tlsConnect,
  createServer as createTlsServer,
} from 'node:tls';
import { MemoryBusHub } from '@sipedge/bus';
import { createMemoryStores } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Edge } from '../src/edge.js';
import { edgeConfigFromEnv } from '../src/env.js';
import { StreamTransport, TlsCredentialsError, type TransportHandler, tlsSockets } from '../src/transports/index.js';
import {
  type TestCertificates,
  type TestKeyPair,
  issueTestCertificate,
  makeTestCertificates,
} from '../src/testing/index.js';

const WAIT = { timeout: 5000, interval: 20 };

/** One JSON log line of the edge. */
interface LogLine {
  level: string;
  msg: string;
  err?: { type: string; message: string; stack: string };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The test PKI: a default server certificate, SNI certificates and client certificates from one CA. */
let pki: TestCertificates;
let sipCom: TestKeyPair;
let wildcardOrg: TestKeyPair;
let exactOrg: TestKeyPair;
let trunk: TestKeyPair;
/** A client certificate from another CA. */
let stranger: TestKeyPair;

beforeAll(async () => {
  pki = await makeTestCertificates();
  const issue = (dnsNames: string[], commonName?: string) =>
    issueTestCertificate(pki, { dnsNames, ipAddresses: [], ...(commonName ? { commonName } : {}) });
  [sipCom, wildcardOrg, exactOrg, trunk, stranger] = await Promise.all([
    issue(['sip.example.com']),
    issue(['*.example.org']),
    issue(['a.example.org']),
    issue(['trunk-1.example.net'], 'trunk-1'),
    makeTestCertificates({ dnsNames: ['trunk-1.example.net'], ipAddresses: [] }),
  ]);
});

/** A new directory with `files` (name → PEM) written into it. */
function pemDirectory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sipedge-tls-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem);
  return dir;
}

/**
 * An edge (no UDP or TCP, in-memory bus and stores) with a TLS listener on 127.0.0.1 configured by
 * `env` (SIPEDGE_TLS_* variables), its TLS port and what it logs.
 */
async function startEdge(
  env: Record<string, string>,
): Promise<{ port: number; logs: LogLine[]; stop: () => Promise<void> }> {
  const logs: LogLine[] = [];
  const logger = createLogger({
    name: 'tls-test',
    level: 'info',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
  });
  const config = edgeConfigFromEnv({
    SIPEDGE_EDGE_ID: 'e1',
    SIPEDGE_UDP: '',
    SIPEDGE_TCP: '',
    SIPEDGE_HTTP: '127.0.0.1:0',
    SIPEDGE_ADVERTISED: '127.0.0.1',
    SIPEDGE_TLS: '127.0.0.1:0',
    ...env,
  });
  const bus = new MemoryBusHub().connect();
  const stores = createMemoryStores();
  const edge = new Edge(config, {
    bus,
    connections: stores.connections,
    dialogs: stores.dialogs,
    captures: stores.captures,
    edges: stores.edges,
    abuse: stores.abuse,
    locations: stores.locations,
    logger,
    processMetrics: false,
  });
  await edge.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await edge.stop();
    await bus.close();
    await stores.close();
  };
  cleanups.push(stop);
  return { port: edge.listening().tls[0]!.port, logs, stop };
}

/** The environment of a TLS listener serving the default test certificate, and `sipCom` by SNI. */
function defaultCertificateEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dir = pemDirectory({ 'tls.crt': pki.cert, 'tls.key': pki.key, 'sni.crt': sipCom.cert, 'sni.key': sipCom.key });
  return {
    SIPEDGE_TLS_CERT_FILE: join(dir, 'tls.crt'),
    SIPEDGE_TLS_KEY_FILE: join(dir, 'tls.key'),
    SIPEDGE_TLS_SNI_CERTS: `${join(dir, 'sni.crt')}:${join(dir, 'sni.key')}`,
    ...extra,
  };
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Completes a TLS handshake with 127.0.0.1:`port` (rejecting on failure) and returns the socket. */
async function handshake(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ...options });
  cleanups.push(() => socket.destroy());
  await once(socket, 'secureConnect');
  return socket;
}

/**
 * The fingerprint of the certificate served for `servername` (none: no SNI, as for an IP address).
 * The chain is verified against the test CA; the name is not, since what is served is the question.
 */
async function servedCertificate(port: number, servername?: string): Promise<string> {
  const socket = await handshake(port, {
    ca: pki.ca,
    checkServerIdentity: () => undefined,
    ...(servername === undefined ? {} : { servername }),
  });
  const served = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return served;
}

/** An OPTIONS with Max-Forwards 0 to the edge itself, which the edge answers 200 statelessly. */
function optionsToEdge(port: number): string {
  return (
    `OPTIONS sip:127.0.0.1:${port};transport=tls SIP/2.0\r\n` +
    `Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-tls-${Math.random().toString(36).slice(2)}\r\n` +
    'Max-Forwards: 0\r\n' +
    'From: <sip:trunk-1@example.net>;tag=t1\r\n' +
    'To: <sip:127.0.0.1>\r\n' +
    `Call-ID: tls-${Math.random().toString(36).slice(2)}@test\r\n` +
    'CSeq: 1 OPTIONS\r\n' +
    'Content-Length: 0\r\n\r\n'
  );
}

/**
 * Sends optionsToEdge over a new TLS connection once its handshake is done (as the client sees it)
 * and returns the response's status line, or how the connection ended without one.
 */
function exchangeOptions(port: number, options: ConnectionOptions = {}): Promise<{ status?: string; ended?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, servername: 'localhost', ...options });
    cleanups.push(() => socket.destroy());
    let received = '';
    let error: string | undefined;
    socket.on('secureConnect', () => socket.write(optionsToEdge(port)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        resolve({ status: received.slice(0, received.indexOf('\r\n')) });
        socket.destroy();
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ ended: error ?? 'closed' }));
  });
}

describe('TLS certificates chosen by SNI', () => {
  it('serves the certificate naming the SNI (exact before wildcard, one label), else the default', async () => {
    const dir = pemDirectory({
      'tls.crt': pki.cert,
      'tls.key': pki.key,
      'sip.crt': sipCom.cert,
      'sip.key': sipCom.key,
      'wild.crt': wildcardOrg.cert,
      'wild.key': wildcardOrg.key,
      'exact.crt': exactOrg.cert,
      'exact.key': exactOrg.key,
    });
    const pair = (name: string) => `${join(dir, `${name}.crt`)}:${join(dir, `${name}.key`)}`;
    const { port } = await startEdge({
      SIPEDGE_TLS_CERT_FILE: join(dir, 'tls.crt'),
      SIPEDGE_TLS_KEY_FILE: join(dir, 'tls.key'),
      // The wildcard comes before the exact name: the order does not decide.
      SIPEDGE_TLS_SNI_CERTS: [pair('wild'), pair('exact'), pair('sip')].join(','),
    });
    const expected: Array<[string | undefined, TestKeyPair]> = [
      ['sip.example.com', sipCom],
      ['SIP.Example.COM', sipCom],
      ['a.example.org', exactOrg],
      ['b.example.org', wildcardOrg],
      ['x.b.example.org', pki],
      ['example.org', pki],
      ['unknown.example.net', pki],
      ['localhost', pki],
      [undefined, pki],
    ];
    for (const [servername, certificate] of expected) {
      expect({ servername, served: await servedCertificate(port, servername) }).toEqual({
        servername,
        served: fingerprint(certificate.cert),
      });
    }
  });
});

describe('TLS certificates reloaded from disk', () => {
  /**
   * A directory laid out as Kubernetes mounts a Secret: the files are symlinks into `..data`, a
   * symlink to the current version's directory, swapped atomically by `publish`.
   */
  function secretVolume(names: string[]): {
    path: (name: string) => string;
    publish: (files: Record<string, string>) => void;
  } {
    const dir = mkdtempSync(join(tmpdir(), 'sipedge-tls-secret-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let version = 0;
    const publish = (files: Record<string, string>): void => {
      const versionDir = `..v${++version}`;
      mkdirSync(join(dir, versionDir));
      for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, versionDir, name), pem);
      symlinkSync(versionDir, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    return {
      path: (name) => join(dir, name),
      publish: (files) => {
        publish(files);
        if (version === 1) for (const name of names) symlinkSync(join('..data', name), join(dir, name));
      },
    };
  }

  it('serves a certificate and key swapped in on disk to the next connection; keeps them when the new ones are bad', async () => {
    const [first, second, third] = await Promise.all(
      [1, 2, 3].map(() => issueTestCertificate(pki, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })),
    );
    const secondSni = await issueTestCertificate(pki, { dnsNames: ['sip.example.com'], ipAddresses: [] });
    const volume = secretVolume(['tls.crt', 'tls.key', 'sni.crt', 'sni.key']);
    volume.publish({ 'tls.crt': first!.cert, 'tls.key': first!.key, 'sni.crt': sipCom.cert, 'sni.key': sipCom.key });
    const { port, logs, stop } = await startEdge({
      SIPEDGE_TLS_CERT_FILE: volume.path('tls.crt'),
      SIPEDGE_TLS_KEY_FILE: volume.path('tls.key'),
      SIPEDGE_TLS_SNI_CERTS: `${volume.path('sni.crt')}:${volume.path('sni.key')}`,
      SIPEDGE_TLS_RELOAD_INTERVAL_MS: '50',
    });
    const reloaded = () => logs.filter((l) => l.msg === 'tls: certificates reloaded');
    const failed = () => logs.filter((l) => l.level === 'error');
    expect(await servedCertificate(port)).toBe(fingerprint(first!.cert));
    expect(await servedCertificate(port, 'sip.example.com')).toBe(fingerprint(sipCom.cert));
    const before = await exchangeOptions(port);
    expect(before.status).toBe('SIP/2.0 200 OK');

    // cert-manager renews: new certificate and key, new SNI certificate, swapped in at once.
    volume.publish({
      'tls.crt': second!.cert,
      'tls.key': second!.key,
      'sni.crt': secondSni.cert,
      'sni.key': secondSni.key,
    });
    await vi.waitFor(() => expect(reloaded()).toHaveLength(1), WAIT);
    expect(await servedCertificate(port)).toBe(fingerprint(second!.cert));
    expect(await servedCertificate(port, 'sip.example.com')).toBe(fingerprint(secondSni.cert));

    // A certificate whose key is not in the new version: the set in use stays, the file is named.
    volume.publish({
      'tls.crt': third!.cert,
      'tls.key': second!.key,
      'sni.crt': secondSni.cert,
      'sni.key': secondSni.key,
    });
    await vi.waitFor(() => expect(failed()).toHaveLength(1), WAIT);
    expect(failed()[0]!.msg).toContain(`key file "${volume.path('tls.key')}"`);
    expect(failed()[0]!.msg).toContain('does not match the certificate');
    expect(await servedCertificate(port)).toBe(fingerprint(second!.cert));
    await sleep(300); // several polls: the same problem is logged once
    expect(failed()).toHaveLength(1);
    expect(reloaded()).toHaveLength(1);

    // Stopped, the edge no longer watches.
    await stop();
    volume.publish({ 'tls.crt': first!.cert, 'tls.key': first!.key, 'sni.crt': sipCom.cert, 'sni.key': sipCom.key });
    await sleep(300);
    expect(reloaded()).toHaveLength(1);
    expect(failed()).toHaveLength(1);
  });

  it('presents the new client certificate on outgoing connections after an update', async () => {
    const seen: string[] = [];
    const server = createTlsServer(
      { key: pki.key, cert: pki.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        seen.push(socket.getPeerCertificate().fingerprint256);
        socket.on('error', () => {});
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const logger = createLogger({ name: 'tls-test', level: 'silent' });
    const sockets = tlsSockets(
      { key: trunk.key, cert: trunk.cert, ca: pki.ca, client: { servername: 'localhost' } },
      logger,
    );
    const ignore = (): void => {};
    const handler: TransportHandler = {
      datagram: ignore,
      streamMessage: ignore,
      streamError: ignore,
      flowOpened: ignore,
      flowClosed: ignore,
    };
    const transport = new StreamTransport({ sockets, edgeId: 'e1', listen: [], handler, logger });
    cleanups.push(() => transport.close());
    await transport.start();
    const destination = { address: '127.0.0.1', port: (server.address() as AddressInfo).port };

    // A connection is reused while it is open (§18.1.1): each step closes it, so the next opens anew.
    const connectAfresh = async () => {
      const flowId = await transport.connect(destination);
      return () => transport.closeFlow(flowId);
    };
    let close = await connectAfresh();
    await vi.waitFor(() => expect(seen).toEqual([fingerprint(trunk.cert)]), WAIT);
    close();
    sockets.update({ key: sipCom.key, cert: sipCom.cert, ca: pki.ca });
    await vi.waitFor(() => expect(transport.flows()).toEqual([]), WAIT);
    close = await connectAfresh();
    await vi.waitFor(() => expect(seen).toEqual([fingerprint(trunk.cert), fingerprint(sipCom.cert)]), WAIT);
    close();
    // Credentials that are not usable change nothing.
    expect(() => sockets.update({ key: trunk.key, cert: sipCom.cert, ca: pki.ca })).toThrow(TlsCredentialsError);
    await vi.waitFor(() => expect(transport.flows()).toEqual([]), WAIT);
    await connectAfresh();
    await vi.waitFor(() => expect(seen).toHaveLength(3), WAIT);
    expect(seen[2]).toBe(fingerprint(sipCom.cert));
  });
});

describe('TLS protocol versions', () => {
  /** A client that offers only `version`, with ciphers OpenSSL 3 allows for TLS 1.0/1.1 at security level 0. */
  const legacyClient = (version: 'TLSv1' | 'TLSv1.1'): ConnectionOptions => ({
    minVersion: version,
    maxVersion: version,
    ciphers: 'DEFAULT:@SECLEVEL=0',
    ca: pki.ca,
    servername: 'localhost',
  });

  it.each(['TLSv1', 'TLSv1.1'] as const)(
    'refuses a client offering only %s, which a permissive server accepts',
    async (version) => {
      // Positive control: the same client completes a handshake at that version with a server allowing it.
      const permissive: TlsOptions = {
        key: pki.key,
        cert: pki.cert,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      };
      const server = createTlsServer(permissive, (socket) => socket.on('error', () => {}));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const control = await handshake((server.address() as AddressInfo).port, legacyClient(version));
      expect(control.getProtocol()).toBe(version);
      control.destroy();

      const { port } = await startEdge(defaultCertificateEnv());
      await expect(handshake(port, legacyClient(version))).rejects.toMatchObject({
        code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      });
      // Also when its SNI selects another certificate.
      await expect(handshake(port, { ...legacyClient(version), servername: 'sip.example.com' })).rejects.toMatchObject({
        code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      });
      // And a TLS 1.2 client with the same options gets through.
      const modern = await handshake(port, { ...legacyClient(version), minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
      expect(modern.getProtocol()).toBe('TLSv1.2');
    },
  );

  it('refuses TLS 1.2 when the minimum is TLSv1.3', async () => {
    const { port } = await startEdge(defaultCertificateEnv({ SIPEDGE_TLS_MIN_VERSION: 'TLSv1.3' }));
    const client: ConnectionOptions = { ca: pki.ca, servername: 'localhost' };
    await expect(handshake(port, { ...client, maxVersion: 'TLSv1.2' })).rejects.toMatchObject({
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    expect((await handshake(port, client)).getProtocol()).toBe('TLSv1.3');
  });

  it('negotiates only the configured ciphers', async () => {
    const { port } = await startEdge(defaultCertificateEnv({ SIPEDGE_TLS_CIPHERS: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
    const tls12 = { ca: pki.ca, servername: 'localhost', maxVersion: 'TLSv1.2' } as const;
    expect((await handshake(port, tls12)).getCipher().standardName).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    await expect(handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).rejects.toMatchObject({
      code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    });
  });
});

describe('TLS client certificates (mutual TLS)', () => {
  it('require: refuses a client without a certificate or with one from another CA; a CA-signed one exchanges OPTIONS', async () => {
    const { port } = await startEdge(
      defaultCertificateEnv({ SIPEDGE_TLS_CLIENT_CERT: 'require', SIPEDGE_TLS_CA_FILE: caFile() }),
    );
    expect(await exchangeOptions(port)).toEqual({ ended: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    const foreign = await exchangeOptions(port, { key: stranger.key, cert: stranger.cert });
    expect(foreign.status).toBeUndefined();
    expect(await exchangeOptions(port, { key: trunk.key, cert: trunk.cert })).toEqual({ status: 'SIP/2.0 200 OK' });
    // The same when the client's SNI selects another certificate.
    const sni = { servername: 'sip.example.com' };
    expect(await exchangeOptions(port, sni)).toEqual({ ended: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    expect((await exchangeOptions(port, { ...sni, key: stranger.key, cert: stranger.cert })).status).toBeUndefined();
    expect(await exchangeOptions(port, { ...sni, key: trunk.key, cert: trunk.cert })).toEqual({
      status: 'SIP/2.0 200 OK',
    });
  });

  it('request: accepts a client without a certificate or with a CA-signed one, refuses one from another CA', async () => {
    const { port } = await startEdge(
      defaultCertificateEnv({ SIPEDGE_TLS_CLIENT_CERT: 'request', SIPEDGE_TLS_CA_FILE: caFile() }),
    );
    expect(await exchangeOptions(port)).toEqual({ status: 'SIP/2.0 200 OK' });
    expect(await exchangeOptions(port, { key: trunk.key, cert: trunk.cert })).toEqual({ status: 'SIP/2.0 200 OK' });
    const foreign = await exchangeOptions(port, { key: stranger.key, cert: stranger.cert });
    expect(foreign.status).toBeUndefined();
  });

  it('off: asks for no certificate', async () => {
    const { port } = await startEdge(defaultCertificateEnv());
    expect(await exchangeOptions(port)).toEqual({ status: 'SIP/2.0 200 OK' });
  });
});

function caFile(): string {
  return join(pemDirectory({ 'ca.pem': pki.ca }), 'ca.pem');
}
