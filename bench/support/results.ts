/** Where the benchmarks write their results: bench/results/<name>, JSON formatted as the repository's files are. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

export function resultFile(name: string): URL {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  return new URL(name, dir);
}

/** Writes `value` as bench/results/<name>, formatted with the repository's Prettier settings (`prettier --check .` stays clean). */
export async function writeResultJson(name: string, value: unknown): Promise<string> {
  const file = resultFile(name);
  const options = (await resolveConfig(fileURLToPath(file))) ?? {};
  writeFileSync(file, await format(JSON.stringify(value), { ...options, parser: 'json' }));
  return fileURLToPath(file);
}
