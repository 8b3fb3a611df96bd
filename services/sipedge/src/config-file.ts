/**
 * The YAML configuration file (`--config FILE`): read, checked against the table of settings and
 * flattened into environment-style values, which the environment then overrides. The edge's and
 * the worker's environment readers check the values; an error about a value that came from the
 * file is restated with the YAML key (`explain`).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sipedge/config';
import { parse } from 'yaml';
import { SETTINGS, type Setting, type SettingKind, settingName } from './settings.js';

export type Environment = Record<string, string | undefined>;

/** A configuration file as environment-style values. */
export interface ConfigFile {
  /** The path, as given: errors name it. */
  file: string;
  /** Environment variable → value. */
  values: Record<string, string>;
}

/** The effective settings of a process: the file's values with the environment over them. */
export interface Settings {
  env: Environment;
  /** Restates a ConfigError about a setting the way the user wrote it (YAML key and file) when it came from the file. */
  explain(error: unknown): unknown;
}

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));
const BY_ENV = new Map(SETTINGS.map((s) => [s.env, s]));
/** Every map a setting sits in (`sip`, `sip.tls`, `edge.rateLimit`, …). */
const GROUPS = new Set(
  SETTINGS.flatMap((s) => s.key.split('.').map((_part, i, parts) => parts.slice(0, i).join('.'))).filter(Boolean),
);

/** The settings of `file` (if any) under `environment`; environment variables win over the file. */
export function loadSettings(file: string | undefined, environment: Environment): Settings {
  if (file === undefined) return { env: { ...environment }, explain: (error) => error };
  const config = readConfigFile(file);
  return {
    env: { ...config.values, ...definedOnly(environment) },
    explain: (error) => explainError(error, config, environment),
  };
}

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config: cannot read "${file}": ${(error as Error).message}`, undefined, undefined, {
      cause: error,
    });
  }
  return parseConfigFile(text, file);
}

/** Checks a file's YAML against the table of settings and flattens it. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid YAML: ${(error as Error).message}`, undefined, undefined, {
      cause: error,
    });
  }
  const values: Record<string, string> = {};
  if (document === null || document === undefined) return { file, values };
  if (!isMap(document)) throw new ConfigError(`${file}: expected a map of settings, got ${describe(document)}`);
  const routing: Record<string, unknown> = {};
  const visit = (map: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(map)) {
      const key = `${prefix}${name}`;
      const setting = BY_KEY.get(key);
      if (setting?.kind === 'routing') routing[name] = checked(setting, value, file);
      else if (setting !== undefined) values[setting.env] = flatten(setting, value, file);
      else if (!GROUPS.has(key)) throw new ConfigError(`${file}: unknown key "${key}"${suggestion(key)}`);
      else if (isMap(value)) visit(value, `${key}.`);
      else throw new ConfigError(`${key} (in ${file}): expected a map of settings, got ${describe(value)}`);
    }
  };
  visit(document, '');
  if (Object.keys(routing).length > 0) values['SIPEDGE_ROUTING'] = JSON.stringify(routing);
  return { file, values };
}

function explainError(error: unknown, config: ConfigFile, environment: Environment): unknown {
  if (!(error instanceof ConfigError) || error.setting === undefined) return error;
  const setting = BY_ENV.get(error.setting);
  if (setting === undefined || environment[error.setting] !== undefined) return error;
  const name = settingName(setting);
  const restated =
    config.values[error.setting] === undefined
      ? `${name} (in ${config.file}) or ${error.setting}: ${error.problem}`
      : `${name} (in ${config.file}): ${error.problem}`;
  return new ConfigError(restated, error.setting, error.problem, { cause: error });
}

/** A YAML value that does not fit its setting's kind. */
class KindMismatch extends Error {}

type Flatten = (value: unknown) => string;

const KINDS: Record<SettingKind, { expected: string; flatten: Flatten }> = {
  string: { expected: 'a string', flatten: (v) => scalar(v) },
  int: { expected: 'an integer', flatten: (v) => (typeof v === 'number' ? String(v) : mismatch()) },
  bool: { expected: 'true or false', flatten: (v) => (typeof v === 'boolean' ? String(v) : mismatch()) },
  list: { expected: 'a list of strings', flatten: (v) => listOf(v, scalar) },
  endpoints: { expected: 'a list of host:port strings', flatten: (v) => listOf(v, scalar) },
  endpoint: { expected: 'a host:port string', flatten: (v) => scalar(v) },
  'host-port': { expected: 'a host[:port] string', flatten: (v) => scalar(v) },
  ports: {
    expected: 'a list of port numbers',
    flatten: (v) => listOf(v, (p) => (typeof p === 'number' ? String(p) : mismatch())),
  },
  users: { expected: 'a list of {username, password} maps', flatten: (v) => listOf(v, userEntry) },
  routing: { expected: 'a list', flatten: (v) => (Array.isArray(v) ? JSON.stringify(v) : mismatch()) },
};

function flatten(setting: Setting, value: unknown, file: string): string {
  const kind = KINDS[setting.kind];
  try {
    return kind.flatten(value);
  } catch (error) {
    if (!(error instanceof KindMismatch)) throw error;
    const problem = error.message === '' ? `expected ${kind.expected}, got ${describe(value)}` : error.message;
    throw new ConfigError(`${setting.key} (in ${file}): ${problem}`, setting.env, problem);
  }
}

/** A value kept as it is (inline routing), once its kind is checked. */
function checked(setting: Setting, value: unknown, file: string): unknown {
  flatten(setting, value, file);
  return value;
}

function mismatch(problem = ''): never {
  throw new KindMismatch(problem);
}

function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : mismatch();
}

/** A list as an environment variable's comma-separated list; an entry cannot hold a comma. */
function listOf(value: unknown, entry: (item: unknown) => string): string {
  if (!Array.isArray(value)) return mismatch();
  return value
    .map((item) => {
      const text = entry(item);
      return text.includes(',') || text.trim() !== text
        ? mismatch(`entry "${text}": no commas or surrounding spaces (one entry per list item)`)
        : text;
    })
    .join(',');
}

function userEntry(item: unknown): string {
  if (!isMap(item)) return mismatch();
  const { username, password, ...rest } = item;
  if (Object.keys(rest).length > 0) return mismatch(`unknown field "${Object.keys(rest)[0]}" in a user entry`);
  if (typeof username !== 'string' || typeof password !== 'string') {
    return mismatch(`expected username and password strings in every entry, got ${describe(item)}`);
  }
  if (username.includes(':')) return mismatch(`username "${username}": no colons`);
  return `${username}:${password}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isMap(value)) return 'a map';
  return typeof value === 'string' ? `the string "${value}"` : `${typeof value} ${String(value)}`;
}

function definedOnly(environment: Environment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** ` (did you mean "…"?)` for the known key or group closest to `key`, when one is close. */
function suggestion(key: string): string {
  const byEnv = BY_ENV.get(key);
  if (byEnv !== undefined) return ` (did you mean "${settingName(byEnv)}"?)`;
  let best: { name: string; distance: number } | undefined;
  for (const name of [...BY_KEY.keys(), ...GROUPS]) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 4))
    ? ` (did you mean "${best.name}"?)`
    : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
