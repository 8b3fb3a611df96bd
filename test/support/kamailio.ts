/**
 * Kamailio (Debian's `kamailio` package) as a process of a test or benchmark: its configuration
 * written to a temporary file, run in the foreground with its log on stderr.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManagedProcess, startProcess } from './processes.js';

/** The Debian package's module directory (or another multiarch/local one). */
export function kamailioModules(): string | undefined {
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib64']
    .map((lib) => `${lib}/kamailio/modules`)
    .find((dir) => existsSync(`${dir}/tm.so`));
}

/**
 * Starts Kamailio with `config` (its `{{modules}}` placeholder filled with the module directory) and
 * `args` beyond `-DD -E -f <file>`; resolves once it listens.
 */
export async function startKamailio(config: string, args: string[] = []): Promise<ManagedProcess> {
  const modules = kamailioModules();
  if (modules === undefined) throw new Error('Kamailio: no module directory with tm.so found');
  const file = join(mkdtempSync(join(tmpdir(), 'sipedge-kamailio-')), 'kamailio.cfg');
  writeFileSync(file, config.replaceAll('{{modules}}', `${modules}/`));
  return startProcess('kamailio', { file: 'kamailio', args: ['-DD', '-E', ...args, '-f', file] }, {}, 'Listening on');
}
