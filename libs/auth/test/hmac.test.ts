import { MemoryNonceStore } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import {
  type HmacNonceOptions,
  NONCE_RECORD_MARGIN_MS,
  StaticUserDirectory,
  buildCredentials,
  checkHmacNonce,
  createChallenge,
  createHmacNonce,
  verify,
} from '../src/index.js';
import { CountingNonceStore, SECRET, request } from './helpers.js';

const REALM = 'example.com';
const TTL = 30_000;
const T0 = 1_763_750_000_000;
const hmac: HmacNonceOptions = { secret: SECRET };
const users = new StaticUserDirectory([{ username: 'alice', password: 'wonderland' }]);

function credential(nonce: string, nc = 1, password = 'wonderland'): string {
  return buildCredentials({
    username: 'alice',
    password,
    realm: REALM,
    nonce,
    method: 'INVITE',
    uri: 'sip:bob@example.com',
    cnonce: 'c1',
    nc,
    algorithm: 'SHA-256',
  });
}

function invite(value: string) {
  return request({ method: 'INVITE', uri: 'sip:bob@example.com', proxyAuthorization: [value] });
}

describe('HMAC nonces', () => {
  it('are base64url, at least 128 bits, distinct, and carry their expiry', () => {
    const a = createHmacNonce(hmac, REALM, T0 + TTL);
    const b = createHmacNonce(hmac, REALM, T0 + TTL);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(a, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(a).not.toBe(b);
    expect(checkHmacNonce(hmac, REALM, a)).toEqual({ valid: true, expiresAt: T0 + TTL });
  });

  it('detect tampering, another realm and another secret', () => {
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    const bytes = Buffer.from(nonce, 'base64url');
    for (const i of [0, 7, 8, 30, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x01;
      expect(checkHmacNonce(hmac, REALM, copy.toString('base64url'))).toEqual({ valid: false });
    }
    // A later expiry written into the nonce does not verify.
    const extended = Buffer.from(bytes);
    extended.writeBigUInt64BE(BigInt(T0 + 10 * TTL), 0);
    expect(checkHmacNonce(hmac, REALM, extended.toString('base64url'))).toEqual({ valid: false });
    expect(checkHmacNonce(hmac, 'other.example.com', nonce)).toEqual({ valid: false });
    expect(checkHmacNonce({ secret: `${SECRET}-rotated` }, REALM, nonce)).toEqual({ valid: false });
    expect(checkHmacNonce(hmac, REALM, `${nonce}A`)).toEqual({ valid: false });
    expect(checkHmacNonce(hmac, REALM, `${nonce.slice(0, 10)}!${nonce.slice(11)}`)).toEqual({ valid: false });
    expect(checkHmacNonce(hmac, REALM, '')).toEqual({ valid: false });
  });

  it('keep verifying with a previous secret during a rotation', () => {
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    const rotated: HmacNonceOptions = { secret: `${SECRET}-rotated`, previousSecrets: [SECRET] };
    expect(checkHmacNonce(rotated, REALM, nonce)).toMatchObject({ valid: true });
  });

  it('refuse secrets shorter than 32 bytes', () => {
    expect(() => createHmacNonce({ secret: 'short' }, REALM, T0)).toThrow(RangeError);
  });
});

describe('verify with HMAC nonces', () => {
  it('10,000 challenges write nothing to the nonce store', async () => {
    const store = new CountingNonceStore(new MemoryNonceStore());
    const nonces = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const challenge = await createChallenge({
        realm: REALM,
        algorithms: ['SHA-256', 'MD5'],
        nonceStore: store,
        nonceTtlMs: TTL,
        hmac,
        now: T0,
      });
      nonces.add(challenge.nonce);
    }
    expect(nonces.size).toBe(10_000);
    expect(store.issued).toBe(0);
    expect(store.used).toBe(0);
  });

  it('accepts a right credential, recording the nonce count on first use only', async () => {
    const store = new CountingNonceStore(new MemoryNonceStore());
    const { nonce } = await createChallenge({
      realm: REALM,
      algorithms: ['SHA-256'],
      nonceStore: store,
      nonceTtlMs: TTL,
      hmac,
      now: T0,
    });
    const options = { header: 'proxy-authorization', realm: REALM, users, nonceStore: store, hmac } as const;
    expect(await verify({ ...options, request: invite(credential(nonce)), now: T0 + 1000 })).toEqual({
      outcome: 'ok',
      username: 'alice',
      algorithm: 'SHA-256',
      ourRows: [0],
    });
    expect(store.issued).toBe(1);
    expect(await verify({ ...options, request: invite(credential(nonce, 2)), now: T0 + 2000 })).toMatchObject({
      outcome: 'ok',
    });
    expect(store.issued).toBe(1);
    expect(await verify({ ...options, request: invite(credential(nonce, 2)), now: T0 + 3000 })).toMatchObject({
      outcome: 'replay',
    });
  });

  it('lets only one of two concurrent first uses of the same nonce count through', async () => {
    const nonceStore = new MemoryNonceStore();
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    const options = { header: 'proxy-authorization', realm: REALM, users, nonceStore, hmac, now: T0 } as const;
    const results = await Promise.all([
      verify({ ...options, request: invite(credential(nonce)) }),
      verify({ ...options, request: invite(credential(nonce)) }),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['ok', 'replay']);
  });

  it('gives the count record the remaining lifetime plus a margin', async () => {
    const issued: number[] = [];
    const store = new MemoryNonceStore();
    const spy = {
      issue: async (nonce: string, ttlMs: number) => {
        issued.push(ttlMs);
        await store.issue(nonce, ttlMs);
      },
      use: (nonce: string, nc: number | null) => store.use(nonce, nc),
    };
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    await verify({
      request: invite(credential(nonce)),
      header: 'proxy-authorization',
      realm: REALM,
      users,
      nonceStore: spy,
      hmac,
      now: T0 + 10_000,
    });
    expect(issued).toEqual([TTL - 10_000 + NONCE_RECORD_MARGIN_MS]);
  });

  it('answers stale once the nonce has expired, without touching the store', async () => {
    const store = new CountingNonceStore(new MemoryNonceStore());
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    const result = await verify({
      request: invite(credential(nonce)),
      header: 'proxy-authorization',
      realm: REALM,
      users,
      nonceStore: store,
      hmac,
      now: T0 + TTL,
    });
    expect(result).toEqual({ outcome: 'stale', username: 'alice', ourRows: [0] });
    expect(store.issued + store.used).toBe(0);
  });

  it('refuses a tampered nonce and a wrong password without touching the store', async () => {
    const store = new CountingNonceStore(new MemoryNonceStore());
    const nonce = createHmacNonce(hmac, REALM, T0 + TTL);
    const forged = createHmacNonce({ secret: `${SECRET}-attacker` }, REALM, T0 + TTL);
    const options = { header: 'proxy-authorization', realm: REALM, users, nonceStore: store, hmac, now: T0 } as const;
    // The credential is right for the forged nonce, but we never issued it.
    expect(await verify({ ...options, request: invite(credential(forged)) })).toMatchObject({
      outcome: 'failed',
      reason: 'nonce-invalid',
    });
    expect(await verify({ ...options, request: invite(credential(nonce, 1, 'guess')) })).toMatchObject({
      outcome: 'failed',
      reason: 'wrong-response',
    });
    expect(store.issued + store.used).toBe(0);
  });
});

describe('seeded challenges (§8.2.7)', () => {
  it('give a byte-identical challenge to a retransmission and different ones to different requests', async () => {
    const store = new MemoryNonceStore();
    const hmac = { secret: 'a-test-secret-of-at-least-32-bytes!!' };
    const base = {
      realm: 'example.com',
      algorithms: ['SHA-256'] as const,
      nonceTtlMs: 300_000,
      nonceStore: store,
      hmac,
    };
    const now = Date.UTC(2026, 10, 21, 12, 0, 10);
    const first = await createChallenge({ ...base, now, seed: 'branch-1|host|call-1|1' });
    const again = await createChallenge({ ...base, now: now + 500, seed: 'branch-1|host|call-1|1' });
    const other = await createChallenge({ ...base, now, seed: 'branch-2|host|call-2|1' });
    expect(again.values).toEqual(first.values);
    expect(other.nonce).not.toBe(first.nonce);
    expect(checkHmacNonce(hmac, 'example.com', first.nonce)).toMatchObject({ valid: true });
  });
});
