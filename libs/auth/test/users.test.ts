import { MemoryUserTable } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import { StaticUserDirectory, TableUserDirectory, credentialsOf, firstFound } from '../src/index.js';

const MD5 = '0123456789abcdef0123456789ABCDEF';

describe('user directories', () => {
  it('checks an entry: a password or well-formed HA1 values, not both, not neither', () => {
    expect(credentialsOf({ username: 'a', password: 'pw' })).toEqual({ password: 'pw' });
    expect(credentialsOf({ username: 'a', ha1Md5: MD5 })).toEqual({ ha1: { md5: MD5.toLowerCase() } });
    expect(() => credentialsOf({ username: 'a' })).toThrow(/password or an HA1/);
    expect(() => credentialsOf({ username: 'a', password: 'pw', ha1Md5: MD5 })).toThrow(/not both/);
    expect(() => credentialsOf({ username: 'a', ha1Sha256: 'abc' })).toThrow(/64 hex/);
  });

  it('reads the shared table on every lookup, per realm', async () => {
    const table = new MemoryUserTable();
    const directory = new TableUserDirectory(table, () => undefined);
    expect(await directory.lookup('alice', 'example.com')).toBeNull();
    await table.put('example.com', 'alice', JSON.stringify({ password: 'one' }));
    expect(await directory.lookup('alice', 'example.com')).toEqual({ password: 'one' });
    expect(await directory.lookup('alice', 'other.example')).toBeNull();
    await table.put('example.com', 'alice', JSON.stringify({ ha1Md5: MD5 }));
    expect(await directory.lookup('alice', 'example.com')).toEqual({ ha1: { md5: MD5.toLowerCase() } });
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '"pw"'],
    ['a number password', '{"password":1}'],
    ['neither password nor HA1', '{}'],
    ['a bad HA1', '{"ha1Md5":"xyz"}'],
  ])('reports an entry that is %s and treats the user as unknown', async (_name, entry) => {
    const table = new MemoryUserTable();
    await table.put('example.com', 'mallory', entry);
    const reported: string[] = [];
    const directory = new TableUserDirectory(table, (user, realm, error) =>
      reported.push(`${user}@${realm}: ${error.message}`),
    );
    expect(await directory.lookup('mallory', 'example.com')).toBeNull();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(/^mallory@example\.com: /);
  });

  it('asks the directories in order and takes the first that knows the user', async () => {
    const table = new MemoryUserTable();
    await table.put('example.com', 'alice', JSON.stringify({ password: 'from-table' }));
    await table.put('example.com', 'bob', JSON.stringify({ password: 'bob-table' }));
    const directory = firstFound(
      new StaticUserDirectory([{ username: 'alice', password: 'from-config' }]),
      new TableUserDirectory(table, () => undefined),
    );
    expect(await directory.lookup('alice', 'example.com')).toEqual({ password: 'from-config' });
    expect(await directory.lookup('bob', 'example.com')).toEqual({ password: 'bob-table' });
    expect(await directory.lookup('carol', 'example.com')).toBeNull();
  });
});
