import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../src/index.js';

describe('EnvReader', () => {
  const env = new EnvReader({
    PORTS: '127.0.0.1:5060, [::1]:5061',
    BAD_PORTS: '127.0.0.1',
    N: '42',
    NEG: '-1',
    FLAG: 'true',
    BADFLAG: 'yes',
    LIST: 'a, b,,c',
    ADV: 'edge.example.com',
    ADV6: '[2001:db8::1]:5080',
  });

  it('reads values and falls back to defaults when unset', () => {
    expect(env.endpoints('PORTS', [])).toEqual([
      { address: '127.0.0.1', port: 5060 },
      { address: '::1', port: 5061 },
    ]);
    expect(env.int('N', 1)).toBe(42);
    expect(env.int('UNSET', 7)).toBe(7);
    expect(env.bool('FLAG', false)).toBe(true);
    expect(env.list('LIST', [])).toEqual(['a', 'b', 'c']);
    expect(env.hostPort('ADV', { host: 'x', port: 1 })).toEqual({ host: 'edge.example.com', port: 5060 });
    expect(env.hostPort('ADV6', { host: 'x', port: 1 })).toEqual({ host: '2001:db8::1', port: 5080 });
  });

  it('names the variable and what was expected when a value is bad', () => {
    expect(() => env.endpoints('BAD_PORTS', [])).toThrow(
      ConfigError.of('BAD_PORTS', 'expected host:port[,host:port…] (IPv6 as [addr]:port), got "127.0.0.1"'),
    );
    expect(() => env.int('NEG', 0)).toThrow(/NEG: expected an integer/);
    expect(() => env.bool('BADFLAG', false)).toThrow(/BADFLAG: expected true or false/);
    expect(() => env.required('UNSET', 'a NATS URL')).toThrow(/UNSET: expected a NATS URL/);
    expect(() => env.file('N')).toThrow(/N: cannot read "42"/);
  });

  it('says which setting is at fault and what is wrong with it, apart', () => {
    let caught: unknown;
    try {
      env.int('NEG', 0);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ setting: 'NEG', problem: 'expected an integer ≥ 0, got "-1"' });
    expect(new ConfigError('two settings disagree')).toMatchObject({ setting: undefined });
  });

  it('reads one of a set of words', () => {
    expect(env.oneOf('FLAG', ['true', 'false'], 'false')).toBe('true');
    expect(env.oneOf('UNSET', ['a', 'b'], 'b')).toBe('b');
    expect(() => env.oneOf('LIST', ['a', 'b'], 'a')).toThrow('LIST: expected one of "a", "b", got "a, b,,c"');
  });

  it('reads a host: a name or an IP address, an IPv6 one with or without brackets', () => {
    const hosts = new EnvReader({ V6: '[2001:db8::1]', BARE: '2001:db8::2', NAME: 'sip6.example.net', BAD: 'a b' });
    expect(hosts.host('V6')).toBe('2001:db8::1');
    expect(hosts.host('BARE')).toBe('2001:db8::2');
    expect(hosts.host('NAME')).toBe('sip6.example.net');
    expect(hosts.host('UNSET')).toBeUndefined();
    expect(() => hosts.host('BAD')).toThrow('BAD: expected a host name or an IP address, got "a b"');
  });
});
