import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type Endpoint, splitEndpoint } from '@sipedge/net';

/**
 * A configuration error that names the setting and what was expected. When it is about one
 * setting's value, `setting` is that setting's environment variable and `problem` what is wrong with
 * it (the message is `SETTING: problem`), so that a caller who took the value from elsewhere (a
 * configuration file) can name it the way the user wrote it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    message: string,
    /** The environment variable of the setting at fault, when the error is about one setting. */
    readonly setting?: string,
    /** What is wrong, without the setting's name. */
    readonly problem: string = message,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** An error about one setting: the message is `SETTING: problem`. */
  static of(setting: string, problem: string, options?: ErrorOptions): ConfigError {
    return new ConfigError(`${setting}: ${problem}`, setting, problem, options);
  }
}

/**
 * Typed readers over environment variables: an unset variable gives the default; a set but
 * invalid one throws a ConfigError naming it and what was expected. No value is ever replaced
 * silently.
 */
export class EnvReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  required(name: string, expected: string): string {
    const v = this.string(name);
    if (v === undefined) throw ConfigError.of(name, `expected ${expected}`);
    return v;
  }

  int(name: string, fallback: number, min = 0): number {
    const v = this.env[name];
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min) throw ConfigError.of(name, `expected an integer ≥ ${min}, got "${v}"`);
    return Number(v);
  }

  /** A port (1–65535), or `fallback` (which may be undefined) when unset. */
  port<T extends number | undefined>(name: string, fallback: T): number | T {
    const v = this.env[name];
    return v === undefined ? fallback : portOf(name, v);
  }

  /** A list of ports, `5061,5080`; an empty value means none. */
  ports(name: string, fallback: readonly number[]): number[] {
    return this.env[name] === undefined ? [...fallback] : this.list(name, []).map((p) => portOf(name, p));
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.env[name];
    if (v === undefined) return fallback;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw ConfigError.of(name, `expected true or false, got "${v}"`);
  }

  /** One of `values` (compared as written). */
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const v = this.string(name);
    if (v === undefined) return fallback;
    if (!(values as readonly string[]).includes(v)) {
      throw ConfigError.of(name, `expected one of ${values.map((x) => `"${x}"`).join(', ')}, got "${v}"`);
    }
    return v as T;
  }

  /** A comma-separated list; empty entries dropped. */
  list(name: string, fallback: readonly string[]): string[] {
    const v = this.env[name];
    return v === undefined
      ? [...fallback]
      : v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
  }

  /** `host:port[,host:port…]` (IPv6 as `[addr]:port`); an empty value means none. */
  endpoints(name: string, fallback: readonly Endpoint[]): Endpoint[] {
    const v = this.env[name];
    if (v === undefined) return [...fallback];
    if (v.trim() === '') return [];
    return v.split(',').map((part) => parseEndpointOrThrow(name, part.trim()));
  }

  /** A host without a port: a name, an IPv4 address or an IPv6 one (brackets allowed, removed). */
  host(name: string): string | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const host = v.trim().replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) === 0 && !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
      throw ConfigError.of(name, `expected a host name or an IP address, got "${v}"`);
    }
    return host;
  }

  /** `host[:port]`, the port defaulting to `defaultPort`. */
  hostPort(name: string, fallback: { host: string; port: number }, defaultPort = 5060): { host: string; port: number } {
    const v = this.env[name];
    if (v === undefined) return fallback;
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(v.trim());
    if (m === null) throw ConfigError.of(name, `expected host[:port], got "${v}"`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] === undefined ? defaultPort : Number(m[2]) };
  }

  /** The text of the file a variable names, or undefined when unset. */
  file(name: string): string | undefined {
    const path = this.string(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw ConfigError.of(name, `cannot read "${path}": ${(error as Error).message}`, { cause: error });
    }
  }
}

function parseEndpointOrThrow(name: string, text: string): Endpoint {
  const endpoint = splitEndpoint(text);
  if (endpoint === undefined) {
    throw ConfigError.of(name, `expected host:port[,host:port…] (IPv6 as [addr]:port), got "${text}"`);
  }
  return endpoint;
}

function portOf(name: string, text: string): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 65535) {
    throw ConfigError.of(name, `expected a port (1-65535), got "${text}"`);
  }
  return Number(text);
}
