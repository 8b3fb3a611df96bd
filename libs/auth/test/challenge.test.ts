import { authParam, buildResponse, parseAuth, parseMessage } from '@sipedge/sip';
import { MemoryNonceStore } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import {
  type NonceStore,
  StaticUserDirectory,
  challengeHeaders,
  challengeStatus,
  computeHa1,
  createChallenge,
} from '../src/index.js';
import { CountingNonceStore, SECRET, request } from './helpers.js';

describe('createChallenge', () => {
  it('offers SHA-256 first, then MD5, with one nonce, qop="auth" and an opaque value', async () => {
    const nonceStore = new MemoryNonceStore();
    const challenge = await createChallenge({
      realm: 'example.com',
      algorithms: ['MD5', 'SHA-256', 'MD5'],
      nonceStore,
      nonceTtlMs: 30_000,
    });
    expect(challenge.values).toHaveLength(2);
    const [sha, md5] = challenge.values.map(parseAuth);
    expect(challenge.values[0]).toBe(
      `Digest realm="example.com", nonce="${challenge.nonce}", opaque="${challenge.opaque}", algorithm=SHA-256, qop="auth"`,
    );
    expect(authParam(sha!, 'algorithm')).toBe('SHA-256');
    expect(authParam(md5!, 'algorithm')).toBe('MD5');
    expect(authParam(md5!, 'nonce')).toBe(challenge.nonce);
    expect(authParam(md5!, 'qop')).toBe('auth');
    expect(authParam(md5!, 'stale')).toBeUndefined();
    expect(Buffer.from(challenge.nonce, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(challenge.nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    // Stored mode: the nonce was issued.
    expect(await nonceStore.use(challenge.nonce, 1)).toBe('ok');
  });

  it('issues a fresh nonce every time and marks stale challenges', async () => {
    const nonceStore = new CountingNonceStore(new MemoryNonceStore());
    const options = { realm: 'example.com', algorithms: ['MD5'] as const, nonceStore, nonceTtlMs: 30_000 };
    const a = await createChallenge(options);
    const b = await createChallenge({ ...options, stale: true });
    expect(a.nonce).not.toBe(b.nonce);
    expect(nonceStore.issued).toBe(2);
    expect(b.values).toEqual([expect.stringMatching(/, stale=true$/)]);
  });

  it('quotes the realm as UTF-8', async () => {
    const challenge = await createChallenge({
      realm: 'bücher "shop"',
      algorithms: ['SHA-256'],
      nonceStore: new MemoryNonceStore(),
      nonceTtlMs: 1000,
    });
    const realm = authParam(parseAuth(challenge.values[0]!), 'realm')!;
    expect(Buffer.from(realm, 'latin1').toString('utf8')).toBe('bücher "shop"');
  });

  it('rejects bad options', async () => {
    const nonceStore: NonceStore = new MemoryNonceStore();
    const base = { realm: 'example.com', algorithms: ['MD5'] as const, nonceStore, nonceTtlMs: 1000 };
    await expect(createChallenge({ ...base, algorithms: [] })).rejects.toThrow(RangeError);
    await expect(createChallenge({ ...base, algorithms: ['MD5-sess' as 'MD5'] })).rejects.toThrow(RangeError);
    await expect(createChallenge({ ...base, realm: '' })).rejects.toThrow(RangeError);
    await expect(createChallenge({ ...base, nonceTtlMs: 0 })).rejects.toThrow(RangeError);
    await expect(createChallenge({ ...base, hmac: { secret: 'too short' } })).rejects.toThrow(RangeError);
  });
});

describe('401 / 407 responses', () => {
  it('builds a 407 with Proxy-Authenticate rows and a 401 with WWW-Authenticate rows', async () => {
    const challenge = await createChallenge({
      realm: 'example.com',
      algorithms: ['SHA-256', 'MD5'],
      nonceStore: new MemoryNonceStore(),
      nonceTtlMs: 30_000,
      hmac: { secret: SECRET },
    });
    const invite = request({ method: 'INVITE', uri: 'sip:bob@example.com' });
    const proxy = buildResponse(invite, challengeStatus('proxy-authorization'), {
      headers: challengeHeaders('proxy-authorization', challenge),
      toTag: 'stateless',
    });
    const parsed = parseMessage(proxy.toBuffer());
    expect(parsed.status).toBe(407);
    expect(parsed.proxyAuthenticates.map((a) => authParam(a, 'algorithm'))).toEqual(['SHA-256', 'MD5']);
    expect(parsed.values('proxy-authenticate')).toEqual(challenge.values);

    const registrar = buildResponse(request(), challengeStatus('authorization'), {
      headers: challengeHeaders('authorization', challenge.values),
    });
    expect(registrar.status).toBe(401);
    expect(parseMessage(registrar.toBuffer()).wwwAuthenticates).toHaveLength(2);
  });
});

describe('StaticUserDirectory', () => {
  it('prefers an entry for the exact realm over one for every realm', async () => {
    const ha1 = computeHa1('SHA-256', 'alice', 'b.example', 'pw');
    const users = new StaticUserDirectory([
      { username: 'alice', password: 'anywhere' },
      { username: 'alice', ha1Sha256: ha1.toUpperCase(), realm: 'b.example' },
    ]);
    expect(await users.lookup('alice', 'a.example')).toEqual({ password: 'anywhere' });
    expect(await users.lookup('alice', 'b.example')).toEqual({ ha1: { md5: undefined, sha256: ha1 } });
    expect(await users.lookup('bob', 'a.example')).toBeNull();
    expect(await users.lookup('ALICE', 'a.example')).toBeNull();
  });

  it('rejects bad configuration', () => {
    expect(() => new StaticUserDirectory([{ username: 'a' }])).toThrow(RangeError);
    expect(() => new StaticUserDirectory([{ username: 'a', password: 'x', ha1Md5: '0'.repeat(32) }])).toThrow(
      RangeError,
    );
    expect(() => new StaticUserDirectory([{ username: 'a', ha1Md5: 'abc' }])).toThrow(RangeError);
    expect(() => new StaticUserDirectory([{ username: 'a', ha1Sha256: '0'.repeat(32) }])).toThrow(RangeError);
    expect(
      () =>
        new StaticUserDirectory([
          { username: 'a', password: 'x', realm: 'r' },
          { username: 'a', password: 'y', realm: 'r' },
        ]),
    ).toThrow(RangeError);
  });
});

// Compile-time: the store package's adapters are this package's NonceStore.
const _storeFits: NonceStore = new MemoryNonceStore();
