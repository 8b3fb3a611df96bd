import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@sipedge/config';
import { expect } from 'vitest';
import { type Environment, loadSettings } from '../../src/config-file.js';
import { planRole, roleLogger } from '../../src/roles.js';

const dir = mkdtempSync(join(tmpdir(), 'sipedge-config-'));

/** Writes `text` to a new file (in a directory of its own) and returns its path. */
export function configFile(text: string, name = 'sipedge.yaml'): string {
  const path = join(mkdtempSync(join(dir, 'case-')), name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError starting `role` with the file at `path` throws, restated the way the CLI reports it. */
export function startError(
  path: string,
  environment: Environment,
  role: 'all' | 'edge' | 'worker' = 'all',
): ConfigError {
  const settings = loadSettings(path, environment);
  try {
    planRole(role, settings.env);
    roleLogger(role, settings.env);
  } catch (error) {
    const explained = settings.explain(error);
    expect(explained).toBeInstanceOf(ConfigError);
    return explained as ConfigError;
  }
  throw new Error('expected a configuration error');
}
