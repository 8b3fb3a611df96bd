import { readFileSync } from 'node:fs';
import { messageOf } from './internal.js';
import {
  type TlsCredentials,
  TlsCredentialsError,
  type TlsPart,
  type TlsProtocol,
  tlsContexts,
} from './tls-credentials.js';

/** A certificate (chain) file and its key file, both PEM. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** Where the TLS credentials are read from (paths of PEM files). */
export interface TlsFiles extends CertificateFiles {
  caFile?: string;
  /** The SNI certificates (TlsCredentials.sni), in order. */
  sni?: CertificateFiles[];
}

/**
 * Reads the files and checks them as the TLS side will use them (`tlsContexts` with `protocol`),
 * so that what this returns can be put in place. Throws a TlsCredentialsError naming the file at
 * fault (its `file`, and the message).
 */
export function readTlsFiles(files: TlsFiles, protocol: TlsProtocol): TlsCredentials {
  const fileOf = (part: TlsPart, sniIndex: number | undefined) => ({
    path: pathOf(files, part, sniIndex),
    described: describe(files, part, sniIndex),
  });
  const read = (part: TlsPart, sniIndex: number | undefined): string => {
    const file = fileOf(part, sniIndex);
    try {
      return readFileSync(file.path, 'utf8');
    } catch (error) {
      throw new TlsCredentialsError(part, sniIndex, `cannot read: ${messageOf(error)}`, { cause: error, file });
    }
  };
  const credentials: TlsCredentials = {
    cert: read('cert', undefined),
    key: read('key', undefined),
    ...(files.caFile === undefined ? {} : { ca: read('ca', undefined) }),
    ...(files.sni === undefined
      ? {}
      : { sni: files.sni.map((_, i) => ({ cert: read('cert', i), key: read('key', i) })) }),
  };
  try {
    tlsContexts(credentials, protocol);
  } catch (error) {
    if (!(error instanceof TlsCredentialsError)) throw error;
    const { part, sniIndex, problem } = error;
    throw new TlsCredentialsError(part, sniIndex, problem, { cause: error, file: fileOf(part, sniIndex) });
  }
  return credentials;
}

/** Every file of the set, once. */
export function tlsFilePaths(files: TlsFiles): string[] {
  const pairs = [files, ...(files.sni ?? [])];
  return [
    ...new Set([
      ...pairs.flatMap((p) => [p.certFile, p.keyFile]),
      ...(files.caFile === undefined ? [] : [files.caFile]),
    ]),
  ];
}

function pathOf(files: TlsFiles, part: TlsPart, sniIndex: number | undefined): string {
  if (part === 'ca') return files.caFile ?? '';
  const pair = sniIndex === undefined ? files : files.sni![sniIndex]!;
  return part === 'cert' ? pair.certFile : pair.keyFile;
}

/** `key file "/etc/tls/tls.key" (of certificate file "/etc/tls/tls.crt")`, … */
function describe(files: TlsFiles, part: TlsPart, sniIndex: number | undefined): string {
  const file = `"${pathOf(files, part, sniIndex)}"`;
  if (part === 'ca') return `CA file ${file}`;
  if (part === 'cert') return `certificate file ${file}`;
  return `key file ${file} (of certificate file "${pathOf(files, 'cert', sniIndex)}")`;
}
