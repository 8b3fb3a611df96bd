import { type ChallengeAnswer, StaticUserDirectory, answerChallenge } from '@sipedge/auth';
import type { AuthValue } from '@sipedge/sip';
import { MemoryNonceStore } from '@sipedge/store';
import type { TuDeps } from '../../src/tu.js';

type Auth = NonNullable<TuDeps['auth']>;

/**
 * Digest authentication (§22) in the realm example.com, where alice's password is `password`:
 * proxy authentication (407, §22.3) with SHA-256 unless `overrides` say otherwise.
 */
export function digestAuth(overrides: Partial<Auth> = {}, password = 'pw'): Auth {
  return {
    realm: 'example.com',
    users: new StaticUserDirectory([{ username: 'alice', password }]),
    nonceStore: new MemoryNonceStore(),
    hmac: { secret: 'a-test-secret-of-at-least-32-bytes!!' },
    algorithms: ['SHA-256'],
    nonceTtlMs: 60_000,
    register: false,
    proxy: true,
    ...overrides,
  };
}

/**
 * The credentials that answer a challenge (§22.2, §22.3), as alice with the password 'pw' for an
 * INVITE to bob@example.com unless `answer` says otherwise.
 */
export function credentials(challenge: AuthValue, answer: Partial<ChallengeAnswer> = {}): string {
  return answerChallenge(challenge, {
    username: 'alice',
    password: 'pw',
    uri: 'sip:bob@example.com',
    method: 'INVITE',
    cnonce: 'c',
    ...answer,
  });
}
