import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { messageOf } from './internal.js';
import { ServernameTable, dnsNames } from './tls-names.js';

/** PEM text. */
export type Pem = string | Buffer;

/** A certificate chain (leaf first) and the private key of its leaf. */
export interface CertifiedKey {
  cert: Pem;
  key: Pem;
}

/**
 * What the TLS side presents and trusts: its certificate, the certificates it serves by SNI and
 * the CAs it verifies peers against. Replaced as a whole (`TlsSockets.update`).
 */
export interface TlsCredentials extends CertifiedKey {
  /** Trusted CA certificates for verifying peers; default: Node's bundled root store. */
  ca?: Pem | Pem[];
  /**
   * More certificates, each served to a client whose SNI names one of its subjectAltName DNS
   * names (see ServernameTable); clients naming none of them, or no name, get `cert`.
   */
  sni?: CertifiedKey[];
}

/** The protocol settings every context of the TLS side shares. */
export interface TlsProtocol {
  /** Lowest protocol version accepted and offered. */
  minVersion: SecureVersion;
  /** OpenSSL cipher list (TLS 1.3 suites may be included); default Node's. */
  ciphers?: string;
}

/** The protocol settings of `settings`, with the defaults: TLSv1.2 at least, Node's ciphers. */
export function tlsProtocol(settings: { minVersion?: SecureVersion; ciphers?: string }): TlsProtocol {
  return { minVersion: settings.minVersion ?? 'TLSv1.2', ciphers: settings.ciphers };
}

/** A part of the TLS credentials: the certificate, the private key or the CA certificates. */
export type TlsPart = 'cert' | 'key' | 'ca';

/**
 * A part of TlsCredentials that is not usable: the certificate, the key or the CA, of the default
 * pair or of `sni[sniIndex]`. `problem` says what is wrong. When the part was read from a file
 * (readTlsFiles), `file` is its path and the message names it as `described` says; otherwise the
 * message names the part only (`sni[0] key: …`).
 */
export class TlsCredentialsError extends Error {
  override name = 'TlsCredentialsError';
  /** The file the part was read from, when it came from one. */
  readonly file: string | undefined;

  constructor(
    readonly part: TlsPart,
    readonly sniIndex: number | undefined,
    readonly problem: string,
    options: ErrorOptions & { file?: { path: string; described: string } } = {},
  ) {
    const { file, ...errorOptions } = options;
    const subject = file?.described ?? `${sniIndex === undefined ? '' : `sni[${sniIndex}] `}${part}`;
    super(`${subject}: ${problem}`, errorOptions);
    this.file = file?.path;
  }
}

/** The secure contexts built from one set of credentials. */
export interface TlsContexts {
  /** Options of the default context: for `tls.createServer` and `server.setSecureContext`. */
  readonly server: SecureContextOptions;
  /** What outgoing connections present and verify with. */
  readonly client: { key: Pem; cert: Pem; ca: Pem | Pem[] | undefined };
  /** The context for a client's SNI name: the certificate holding that name, else the default one. */
  forServername(servername: string): SecureContext;
}

/**
 * Set on every context: a context chosen by SNI hands its own to the connection (OpenSSL
 * SSL_set_SSL_CTX), and OpenSSL will not cache or resume the session of a connection that verifies
 * a client certificate without one.
 */
const SESSION_ID_CONTEXT = 'sipedge';

/** Throws the OpenSSL error when the protocol settings cannot make a context (e.g. no cipher matches). */
export function checkTlsProtocol(protocol: TlsProtocol): void {
  createSecureContext({ minVersion: protocol.minVersion, ciphers: protocol.ciphers });
}

/**
 * Builds the contexts of a set of credentials, checking every part first: each certificate parses,
 * each key parses and belongs to its certificate, each SNI certificate has a DNS name, the CA
 * holds certificates. Throws a TlsCredentialsError naming the part at fault.
 */
export function tlsContexts(credentials: TlsCredentials, protocol: TlsProtocol): TlsContexts {
  if (credentials.ca !== undefined) checkCa(credentials.ca);
  const optionsOf = (pair: CertifiedKey): SecureContextOptions => ({
    key: pair.key,
    cert: pair.cert,
    ca: credentials.ca,
    minVersion: protocol.minVersion,
    ciphers: protocol.ciphers,
    sessionIdContext: SESSION_ID_CONTEXT,
  });
  const names = namesOf(credentials, undefined);
  const server = optionsOf(credentials);
  const fallback = contextOf(server, undefined);
  const table = new ServernameTable<SecureContext>();
  table.add(names, fallback);
  credentials.sni?.forEach((pair, index) => {
    const sniNames = namesOf(pair, index);
    if (sniNames.length === 0) {
      throw new TlsCredentialsError('cert', index, 'has no DNS name in its subjectAltName, so no SNI can select it');
    }
    table.add(sniNames, contextOf(optionsOf(pair), index));
  });
  return {
    server,
    client: { key: credentials.key, cert: credentials.cert, ca: credentials.ca },
    forServername: (servername) => table.lookup(servername) ?? fallback,
  };
}

/** The DNS names of a pair's certificate, once the certificate and key parse and belong together. */
function namesOf(pair: CertifiedKey, sniIndex: number | undefined): string[] {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (error) {
    throw new TlsCredentialsError('cert', sniIndex, `not a PEM certificate: ${messageOf(error)}`, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (error) {
    throw new TlsCredentialsError('key', sniIndex, `not a PEM private key: ${messageOf(error)}`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsCredentialsError('key', sniIndex, 'does not match the certificate (not its private key)');
  }
  return dnsNames(certificate);
}

/** Every PEM block of the CA must be a certificate, and there must be one (OpenSSL ignores text that is none). */
function checkCa(ca: Pem | Pem[]): void {
  const blocks = (Array.isArray(ca) ? ca : [ca]).flatMap((pem) => pem.toString().match(PEM_BLOCK) ?? []);
  if (blocks.length === 0) throw new TlsCredentialsError('ca', undefined, 'holds no PEM certificate');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new TlsCredentialsError('ca', undefined, `not a PEM certificate: ${messageOf(error)}`, { cause: error });
    }
  }
}

const PEM_BLOCK = /-----BEGIN [^-]+-----[^-]*-----END [^-]+-----/g;

function contextOf(options: SecureContextOptions, sniIndex: number | undefined): SecureContext {
  try {
    return createSecureContext(options);
  } catch (error) {
    throw new TlsCredentialsError('cert', sniIndex, `not usable: ${messageOf(error)}`, { cause: error });
  }
}
