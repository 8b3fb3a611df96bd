import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/settings.js';

const root = new URL('../../../', import.meta.url).pathname;
const docs = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
const tableRows = docs.split('\n').filter((line) => line.startsWith('| `'));
/** Variables of the `sipedge admin` command line, not settings of the processes: documented with it in docs/security.md. */
const COMMAND_LINE_ONLY = ['SIPEDGE_ADMIN_URL'];

/** Every `.ts` file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The quoted `SIPEDGE_*` names in the sources of every library and service. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  for (const area of ['libs', 'services']) {
    for (const pkg of readdirSync(join(root, area))) {
      const src = join(root, area, pkg, 'src');
      let files: string[];
      try {
        files = sources(src);
      } catch {
        continue;
      }
      for (const file of files) {
        for (const m of readFileSync(file, 'utf8').matchAll(/(?<=['"`])SIPEDGE_[A-Z0-9_]+(?=['"`])/g)) names.add(m[0]);
      }
    }
  }
  return names;
}

describe('docs/configuration.md and the table of settings', () => {
  it.each(SETTINGS.map((s) => [s.key, s.env]))('documents %s (%s) in one row of the settings table', (key, env) => {
    expect(tableRows.filter((row) => row.startsWith(`| \`${key}\` `) && row.includes(`\`${env}\``))).toHaveLength(1);
  });

  it('has a YAML key for every SIPEDGE_* variable the sources read, and for the connections and log level', () => {
    const inTable = new Set(SETTINGS.map((s) => s.env));
    const read = variablesRead();
    expect(read.size).toBeGreaterThan(40);
    expect(
      [
        ...read,
        'REDIS_URL',
        'REDIS_CLUSTER',
        'REDIS_SENTINELS',
        'REDIS_SENTINEL_MASTER',
        'NATS_URL',
        'LOG_LEVEL',
      ].filter((name) => !inTable.has(name) && !COMMAND_LINE_ONLY.includes(name)),
    ).toEqual([]);
  });

  it('documents the variables of the sipedge admin command line in docs/security.md', () => {
    const security = readFileSync(join(root, 'docs/security.md'), 'utf8');
    for (const name of COMMAND_LINE_ONLY) expect(security).toContain(name);
  });

  it('gives every YAML key once', () => {
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
  });
});
