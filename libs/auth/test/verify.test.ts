import { parseAuth } from '@sipedge/sip';
import { MemoryNonceStore } from '@sipedge/store';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CredentialHeader,
  type CredentialInput,
  StaticUserDirectory,
  answerChallenge,
  buildCredentials,
  computeHa1,
  createChallenge,
  ourCredentialRows,
  removeCredentialRows,
  verify,
} from '../src/index.js';
import { CountingNonceStore, request } from './helpers.js';

const REALM = 'example.com';
const users = new StaticUserDirectory([
  { username: 'alice', password: 'wonderland' },
  { username: 'carol', ha1Md5: computeHa1('MD5', 'carol', REALM, 'secret'), realm: REALM },
]);

let nonceStore: MemoryNonceStore;
let nonce: string;

beforeEach(async () => {
  nonceStore = new MemoryNonceStore();
  nonce = (await createChallenge({ realm: REALM, algorithms: ['SHA-256', 'MD5'], nonceStore, nonceTtlMs: 30_000 }))
    .nonce;
});

function credential(overrides: Partial<CredentialInput> = {}): string {
  return buildCredentials({
    username: 'alice',
    password: 'wonderland',
    realm: REALM,
    nonce,
    method: 'REGISTER',
    uri: 'sip:example.com',
    cnonce: 'c1',
    ...overrides,
  });
}

function check(message = request({ authorization: [credential()] }), header: CredentialHeader = 'authorization') {
  return verify({ request: message, header, realm: REALM, users, nonceStore });
}

describe('verify (stored nonces)', () => {
  it('accepts the right password, with MD5 and with SHA-256', async () => {
    expect(await check()).toEqual({ outcome: 'ok', username: 'alice', algorithm: 'MD5', ourRows: [0] });
    const sha = request({ authorization: [credential({ algorithm: 'SHA-256', nc: 2 })] });
    expect(await check(sha)).toEqual({ outcome: 'ok', username: 'alice', algorithm: 'SHA-256', ourRows: [0] });
  });

  it('accepts a user provisioned with HA1 only, and refuses the algorithm it has no HA1 for', async () => {
    const md5 = request({ authorization: [credential({ username: 'carol', password: 'secret' })] });
    expect(await check(md5)).toMatchObject({ outcome: 'ok', username: 'carol' });
    const sha = request({
      authorization: [credential({ username: 'carol', password: 'secret', algorithm: 'SHA-256', nc: 2 })],
    });
    expect(await check(sha)).toMatchObject({ outcome: 'failed', reason: 'no-credentials-for-algorithm' });
  });

  it('refuses a wrong password and an unknown user without touching the nonce store', async () => {
    const store = new CountingNonceStore(nonceStore);
    const wrong = request({ authorization: [credential({ password: 'guess' })] });
    expect(await verify({ request: wrong, header: 'authorization', realm: REALM, users, nonceStore: store })).toEqual({
      outcome: 'failed',
      reason: 'wrong-response',
      username: 'alice',
      ourRows: [0],
    });
    const unknown = request({ authorization: [credential({ username: 'mallory' })] });
    expect(
      await verify({ request: unknown, header: 'authorization', realm: REALM, users, nonceStore: store }),
    ).toMatchObject({ outcome: 'failed', reason: 'unknown-user', username: 'mallory' });
    expect(store.used + store.issued).toBe(0);
    // The nonce count was not consumed: the right credential with nc=1 still passes.
    expect(await check()).toMatchObject({ outcome: 'ok' });
  });

  it('answers missing without credentials, and for credentials of other realms or schemes only', async () => {
    expect(await check(request())).toEqual({ outcome: 'missing', ourRows: [] });
    const foreign = request({
      authorization: [credential({ realm: 'other.example.net' }), 'Basic YWxpY2U6d29uZGVybGFuZA=='],
    });
    expect(await check(foreign)).toEqual({ outcome: 'missing', ourRows: [] });
  });

  it('answers stale for a right credential whose nonce was never issued or has expired', async () => {
    const unknown = request({ authorization: [credential({ nonce: 'never-issued-nonce' })] });
    expect(await check(unknown)).toEqual({ outcome: 'stale', username: 'alice', ourRows: [0] });

    const short = await createChallenge({ realm: REALM, algorithms: ['MD5'], nonceStore, nonceTtlMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const expired = request({ authorization: [credential({ nonce: short.nonce })] });
    expect(await check(expired)).toMatchObject({ outcome: 'stale' });
    // A wrong password with an expired nonce is a failure, not stale: the UA must ask the user.
    const wrongExpired = request({ authorization: [credential({ nonce: short.nonce, password: 'x' })] });
    expect(await check(wrongExpired)).toMatchObject({ outcome: 'failed', reason: 'wrong-response' });
  });

  it('detects a replayed nonce count, and accepts a higher one', async () => {
    expect(await check()).toMatchObject({ outcome: 'ok' });
    expect(await check()).toEqual({ outcome: 'replay', username: 'alice', ourRows: [0] });
    expect(await check(request({ authorization: [credential({ nc: 3 })] }))).toMatchObject({ outcome: 'ok' });
    expect(await check(request({ authorization: [credential({ nc: 2 })] }))).toMatchObject({ outcome: 'replay' });
  });

  it('refuses a credential without qop (RFC 2069) and one with qop=auth-int', async () => {
    const noQop = credential()
      .replace(/, qop=auth/, '')
      .replace(/, nc=\w+/, '')
      .replace(/, cnonce="[^"]*"/, '');
    expect(await check(request({ authorization: [noQop] }))).toMatchObject({
      outcome: 'failed',
      reason: 'qop-missing',
    });
    const authInt = credential().replace('qop=auth', 'qop=auth-int');
    expect(await check(request({ authorization: [authInt] }))).toMatchObject({
      outcome: 'failed',
      reason: 'unsupported-qop',
    });
  });

  it('refuses -sess and SHA-512-256 algorithms, userhash, and malformed credentials', async () => {
    for (const algorithm of ['MD5-sess', 'SHA-256-sess', 'SHA-512-256', 'SHA-1']) {
      const value = credential().replace('algorithm=MD5', `algorithm=${algorithm}`);
      expect(await check(request({ authorization: [value] }))).toMatchObject({
        outcome: 'failed',
        reason: 'unsupported-algorithm',
      });
    }
    expect(
      await check(request({ authorization: [credential().replace('qop=auth', 'qop=auth, userhash=true')] })),
    ).toMatchObject({ outcome: 'failed', reason: 'unsupported-userhash' });
    for (const broken of [
      credential().replace(/username="alice", /, ''),
      credential().replace(/response="\w+", /, ''),
      credential().replace('nc=00000001', 'nc=1'),
      credential().replace('nc=00000001', 'nc=00000000'),
      credential().replace('cnonce="c1"', 'cnonce=""'),
    ]) {
      expect(await check(request({ authorization: [broken] }))).toMatchObject({
        outcome: 'failed',
        reason: 'malformed',
      });
    }
  });

  it('requires the uri parameter to be the Request-URI as written', async () => {
    const value = credential({ uri: 'sip:EXAMPLE.com' });
    expect(await check(request({ authorization: [value] }))).toMatchObject({
      outcome: 'failed',
      reason: 'uri-mismatch',
    });
  });

  it('takes the scheme case-insensitively and the response hex in either case', async () => {
    const value = credential()
      .replace(/^Digest/, 'dIgEsT')
      .replace(/response="(\w+)"/, (_, hex: string) => `response="${hex.toUpperCase()}"`);
    expect(await check(request({ authorization: [value] }))).toMatchObject({ outcome: 'ok' });
  });

  it('uses the method override for HA2', async () => {
    const value = credential({ method: 'INVITE' });
    expect(await check(request({ authorization: [value] }))).toMatchObject({ reason: 'wrong-response' });
    expect(
      await verify({
        request: request({ authorization: [value] }),
        header: 'authorization',
        realm: REALM,
        users,
        nonceStore,
        method: 'INVITE',
      }),
    ).toMatchObject({ outcome: 'ok' });
  });

  it('keeps a credential with a non-ASCII username and password as UTF-8', async () => {
    const directory = new StaticUserDirectory([{ username: 'zoë', password: 'pässwörd' }]);
    const value = credential({ username: 'zoë', password: 'pässwörd' });
    const message = request({ authorization: [value] });
    expect(message.toBuffer().includes(Buffer.from('username="zoë"', 'utf8'))).toBe(true);
    expect(
      await verify({
        request: message,
        header: 'authorization',
        realm: REALM,
        users: directory,
        nonceStore,
      }),
    ).toMatchObject({ outcome: 'ok', username: 'zoë' });
  });
});

describe('proxy credentials for other realms (§22.3)', () => {
  const foreignValue = (): string =>
    buildCredentials({
      username: 'alice',
      password: 'elsewhere',
      realm: 'downstream.example.net',
      nonce: 'their-nonce, with a comma',
      method: 'INVITE',
      uri: 'sip:bob@example.com',
      cnonce: 'x',
    });

  it('verifies ours and reports only our row', async () => {
    const ours = credential({ method: 'INVITE', uri: 'sip:bob@example.com' });
    const message = request({
      method: 'INVITE',
      uri: 'sip:bob@example.com',
      proxyAuthorization: [foreignValue(), ours],
    });
    expect(ourCredentialRows(message, 'proxy-authorization', REALM)).toEqual([1]);
    const result = await check(message, 'proxy-authorization');
    expect(result).toEqual({ outcome: 'ok', username: 'alice', algorithm: 'MD5', ourRows: [1] });

    removeCredentialRows(message, 'proxy-authorization', result.ourRows);
    // The foreign credential (commas and all) goes on as one value, unchanged.
    expect(message.values('proxy-authorization')).toEqual([foreignValue()]);
    expect(message.proxyAuthorizations).toHaveLength(1);
  });

  it('leaves the request alone when nothing is ours', async () => {
    const message = request({ method: 'INVITE', uri: 'sip:bob@example.com', proxyAuthorization: [foreignValue()] });
    const before = message.toBuffer();
    const result = await check(message, 'proxy-authorization');
    expect(result).toEqual({ outcome: 'missing', ourRows: [] });
    removeCredentialRows(message, 'proxy-authorization', result.ourRows);
    expect(message.toBuffer().equals(before)).toBe(true);
  });

  it('removes our rows wherever they are and keeps the order of the others', async () => {
    const a = credential({ realm: 'a.example' });
    const b = credential({ realm: 'b.example' });
    const ours = credential();
    const message = request({ proxyAuthorization: [ours, a, ours, b] });
    const rows = ourCredentialRows(message, 'proxy-authorization', REALM);
    expect(rows).toEqual([0, 2]);
    removeCredentialRows(message, 'proxy-authorization', rows);
    expect(message.values('proxy-authorization')).toEqual([a, b]);
    const all = request({ proxyAuthorization: [ours] });
    removeCredentialRows(all, 'proxy-authorization', [0]);
    expect(all.has('proxy-authorization')).toBe(false);
  });

  it('with several rows for our realm, the one that verifies wins', async () => {
    const wrong = credential({ password: 'nope' });
    const right = credential({ algorithm: 'SHA-256' });
    const message = request({ authorization: [wrong, right] });
    expect(await check(message)).toEqual({ outcome: 'ok', username: 'alice', algorithm: 'SHA-256', ourRows: [0, 1] });
  });
});

describe('answerChallenge (the UA side)', () => {
  it('answers each value of a challenge with its realm, nonce, algorithm and opaque, and the answer verifies', async () => {
    const challenge = await createChallenge({
      realm: REALM,
      algorithms: ['SHA-256', 'MD5'],
      nonceStore,
      nonceTtlMs: 30_000,
    });
    const answers = challenge.values.map((value, i) =>
      answerChallenge(parseAuth(value), {
        username: 'alice',
        password: 'wonderland',
        method: 'REGISTER',
        uri: 'sip:example.com',
        cnonce: 'c9',
        nc: i + 1,
      }),
    );
    expect(answers[0]).toContain(`opaque="${challenge.opaque}"`);
    for (const [i, algorithm] of (['SHA-256', 'MD5'] as const).entries()) {
      expect(answers[i]).toContain(`nonce="${challenge.nonce}"`);
      expect(await check(request({ authorization: [answers[i]!] }))).toEqual({
        outcome: 'ok',
        username: 'alice',
        algorithm,
        ourRows: [0],
      });
    }
  });

  it('refuses a challenge it cannot answer', () => {
    const answer = { username: 'a', password: 'p', method: 'REGISTER', uri: 'sip:example.com', cnonce: 'c' };
    expect(() => answerChallenge(parseAuth('Digest nonce="n"'), answer)).toThrow(/realm or nonce/);
    expect(() => answerChallenge(parseAuth('Digest realm="r", nonce="n", algorithm=SHA-512-256'), answer)).toThrow(
      /SHA-512-256 is not supported/,
    );
  });
});
