/**
 * No user enumeration (issue 14): refusing an unknown user does the same work as refusing a known
 * user's wrong password — the same digests computed and the same constant-time comparison — so a
 * scanner cannot tell them apart by timing. Counted by wrapping node:crypto's createHash and
 * timingSafeEqual.
 */
import type * as crypto from 'node:crypto';
import { MemoryNonceStore } from '@sipedge/store';
import { describe, expect, it, vi } from 'vitest';
import { StaticUserDirectory, buildCredentials, createChallenge, verify } from '../src/index.js';
import { request } from './helpers.js';

const calls = { hash: 0, compare: 0 };
vi.mock('node:crypto', async (original) => {
  const actual = await original<typeof crypto>();
  return {
    ...actual,
    createHash: (...args: Parameters<typeof actual.createHash>) => (calls.hash++, actual.createHash(...args)),
    timingSafeEqual: (...args: Parameters<typeof actual.timingSafeEqual>) => (
      calls.compare++,
      actual.timingSafeEqual(...args)
    ),
  };
});

const REALM = 'example.com';
const users = new StaticUserDirectory([{ username: 'alice', password: 'wonderland' }]);

describe('no user enumeration', () => {
  it.each(['MD5', 'SHA-256'] as const)(
    '%s: an unknown user and a wrong password cost the same hashes and comparisons, and both fail',
    async (algorithm) => {
      const nonceStore = new MemoryNonceStore();
      const { nonce } = await createChallenge({
        realm: REALM,
        algorithms: [algorithm],
        nonceStore,
        nonceTtlMs: 30_000,
      });
      const work = async (username: string) => {
        const authorization = buildCredentials({
          username,
          password: 'guess',
          realm: REALM,
          nonce,
          method: 'REGISTER',
          uri: 'sip:example.com',
          cnonce: 'c1',
          algorithm,
        });
        calls.hash = 0;
        calls.compare = 0;
        const result = await verify({
          request: request({ authorization: [authorization] }),
          header: 'authorization',
          realm: REALM,
          users,
          nonceStore,
        });
        return { outcome: result.outcome, hash: calls.hash, compare: calls.compare };
      };
      const known = await work('alice');
      const unknown = await work('mallory');
      expect(known).toEqual({ outcome: 'failed', hash: unknown.hash, compare: unknown.compare });
      expect(unknown.outcome).toBe('failed');
      expect(known.hash).toBeGreaterThanOrEqual(3); // HA1, HA2 and the response
      expect(known.compare).toBe(1);
    },
  );
});
