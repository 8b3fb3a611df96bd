import { ConfigError, type EnvReader } from '@sipedge/config';
import type { ClientCertMode, EdgeTlsConfig } from './config.js';
import {
  type CertificateFiles,
  type TlsCredentials,
  TlsCredentialsError,
  type TlsFiles,
  type TlsProtocol,
  checkTlsProtocol,
  readTlsFiles,
  tlsProtocol,
} from './transports/index.js';

/** How often the TLS files are checked for changes unless SIPEDGE_TLS_RELOAD_INTERVAL_MS says otherwise. */
const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

/** The variable each TLS file comes from. */
const FILE_VARIABLES = {
  cert: 'SIPEDGE_TLS_CERT_FILE',
  key: 'SIPEDGE_TLS_KEY_FILE',
  ca: 'SIPEDGE_TLS_CA_FILE',
} as const;

/**
 * The TLS listener's settings (services/edge/README.md), or undefined when SIPEDGE_TLS names no
 * address and no WSS listener (`forWss`) needs the credentials. The files are read and checked now, as they will be served (certificates and keys that
 * belong together, SNI certificates with DNS names, the protocol floor and ciphers); a problem is
 * a ConfigError naming the variable (and the file).
 */
export function tlsConfigFromEnv(env: EnvReader, forWss = false): EdgeTlsConfig | undefined {
  const listen = env.endpoints('SIPEDGE_TLS', []);
  if (listen.length === 0 && !forWss) return undefined;
  const minVersion = minVersionOf(env);
  const ciphers = env.string('SIPEDGE_TLS_CIPHERS');
  const protocol = tlsProtocol({ minVersion, ciphers });
  try {
    checkTlsProtocol(protocol);
  } catch (error) {
    throw ConfigError.of(
      'SIPEDGE_TLS_CIPHERS',
      `not a usable OpenSSL cipher list "${ciphers}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const clientCert = env.oneOf<ClientCertMode>('SIPEDGE_TLS_CLIENT_CERT', ['off', 'request', 'require'], 'off');
  const files = tlsFilesOf(env);
  if (clientCert !== 'off' && files.caFile === undefined) {
    throw ConfigError.of('SIPEDGE_TLS_CA_FILE', `required when SIPEDGE_TLS_CLIENT_CERT is "${clientCert}"`);
  }
  const intervalMs = env.int('SIPEDGE_TLS_RELOAD_INTERVAL_MS', DEFAULT_TLS_RELOAD_INTERVAL_MS);
  return {
    listen,
    ...credentialsOf(files, protocol),
    minVersion,
    ...(ciphers === undefined ? {} : { ciphers }),
    clientCert,
    ...(intervalMs > 0 ? { reload: { files, intervalMs } } : {}),
  };
}

/** TLSv1.2 (default) or TLSv1.3: TLS 1.0 and 1.1 are never accepted (RFC 8996). */
function minVersionOf(env: EnvReader): 'TLSv1.2' | 'TLSv1.3' {
  const name = 'SIPEDGE_TLS_MIN_VERSION';
  const value = env.string(name);
  if (value === 'TLSv1' || value === 'TLSv1.1') {
    throw ConfigError.of(
      name,
      `${value} is not allowed: TLS 1.0 and 1.1 are deprecated (RFC 8996); use TLSv1.2 or TLSv1.3`,
    );
  }
  return env.oneOf(name, ['TLSv1.2', 'TLSv1.3'], 'TLSv1.2');
}

function tlsFilesOf(env: EnvReader): TlsFiles {
  const keyFile = env.string('SIPEDGE_TLS_KEY_FILE');
  const certFile = env.string('SIPEDGE_TLS_CERT_FILE');
  if (keyFile === undefined)
    throw ConfigError.of('SIPEDGE_TLS_KEY_FILE', 'required when SIPEDGE_TLS or SIPEDGE_WSS is set');
  if (certFile === undefined)
    throw ConfigError.of('SIPEDGE_TLS_CERT_FILE', 'required when SIPEDGE_TLS or SIPEDGE_WSS is set');
  const caFile = env.string('SIPEDGE_TLS_CA_FILE');
  const sni = env.list('SIPEDGE_TLS_SNI_CERTS', []).map(sniPairOf);
  return { certFile, keyFile, ...(caFile === undefined ? {} : { caFile }), ...(sni.length > 0 ? { sni } : {}) };
}

/** The files' credentials, checked; a problem is a ConfigError naming the variable the file came from. */
function credentialsOf(files: TlsFiles, protocol: TlsProtocol): TlsCredentials {
  try {
    return readTlsFiles(files, protocol);
  } catch (error) {
    if (!(error instanceof TlsCredentialsError)) throw error;
    const variable = error.sniIndex === undefined ? FILE_VARIABLES[error.part] : 'SIPEDGE_TLS_SNI_CERTS';
    throw ConfigError.of(variable, error.message, { cause: error });
  }
}

/** `CERT_FILE:KEY_FILE`. */
function sniPairOf(entry: string): CertificateFiles {
  const parts = entry.split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw ConfigError.of('SIPEDGE_TLS_SNI_CERTS', `expected CERT_FILE:KEY_FILE[,CERT_FILE:KEY_FILE…], got "${entry}"`);
  }
  return { certFile: parts[0]!, keyFile: parts[1]! };
}
