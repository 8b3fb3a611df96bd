import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '@sipedge/telemetry';
import { messageOf } from './internal.js';
import type { Pem, TlsCredentials, TlsProtocol } from './tls-credentials.js';
import { type TlsFiles, readTlsFiles, tlsFilePaths } from './tls-files.js';

export interface TlsReloadOptions {
  files: TlsFiles;
  /** Checked with, as at start-up. */
  protocol: TlsProtocol;
  /** How often each file's status is polled (ms). */
  intervalMs: number;
  /** The credentials in use: a change on disk that leaves them as they are puts nothing in place. */
  current: TlsCredentials;
  /** Puts a checked set of credentials in place (`TlsSockets.update`). */
  apply(credentials: TlsCredentials): void;
  logger: Logger;
}

/**
 * Re-reads the TLS files whenever one of them changes on disk and, when the new set checks out as
 * at start-up (`readTlsFiles`), puts it in place and logs `tls: certificates reloaded`; otherwise
 * the set in use stays and an error names the file (once per distinct problem).
 *
 * Changes are found by polling each path's status (`fs.watchFile`: device, inode, size, times),
 * which follows symbolic links at every poll. Kubernetes updates a mounted Secret (as cert-manager
 * rotates it) by pointing the `..data` symlink at a new directory; inotify (`fs.watch`) keeps
 * watching the old files and would miss that. The polls do not keep the process alive. Returns
 * the function that stops watching.
 */
export function reloadTlsFilesOnChange(options: TlsReloadOptions): () => void {
  const { files, protocol, apply, logger } = options;
  const paths = tlsFilePaths(files);
  let current = pemText(options.current);
  let lastProblem: string | undefined;
  const reload = (): void => {
    try {
      const next = readTlsFiles(files, protocol);
      const text = pemText(next);
      if (text === current) return;
      apply(next);
      current = text;
      lastProblem = undefined;
      logger.info({ files: paths }, 'tls: certificates reloaded');
    } catch (error) {
      const problem = messageOf(error);
      if (problem === lastProblem) return;
      lastProblem = problem;
      logger.error({ err: error }, `tls: certificates not reloaded, keeping those in use: ${problem}`);
    }
  };
  for (const path of paths) watchFile(path, { interval: options.intervalMs, persistent: false }, reload);
  return () => {
    for (const path of paths) unwatchFile(path, reload);
  };
}

/** The PEM text of a set of credentials, in a fixed order: equal exactly when the sets are. */
function pemText(credentials: TlsCredentials): string {
  const text = (pem: Pem): string => pem.toString();
  const { ca } = credentials;
  return JSON.stringify([
    text(credentials.cert),
    text(credentials.key),
    ca === undefined ? null : (Array.isArray(ca) ? ca : [ca]).map(text),
    (credentials.sni ?? []).map((pair) => [text(pair.cert), text(pair.key)]),
  ]);
}
