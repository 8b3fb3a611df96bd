import { createHash } from 'node:crypto';
import { buildRequest } from '@sipedge/sip';
import { MemoryNonceStore } from '@sipedge/store';
import { describe, expect, it } from 'vitest';
import { StaticUserDirectory, computeHa1, computeResponse, verify } from '../src/index.js';
import { request } from './helpers.js';

// RFC 7616 §3.9.1: the worked example, the same for both algorithms except the response.
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};
const RFC_MD5_RESPONSE = '8ca523f5e9506fed4657c9700eebdbec';
const RFC_SHA256_RESPONSE = '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1';

describe('RFC 7616 §3.9.1 known answers', () => {
  it.each([
    ['MD5', RFC_MD5_RESPONSE],
    ['SHA-256', RFC_SHA256_RESPONSE],
  ] as const)('computes the %s response of the RFC', (algorithm, expected) => {
    const ha1 = computeHa1(algorithm, RFC.username, RFC.realm, RFC.password);
    const response = computeResponse({ algorithm, ha1, qop: 'auth', ...RFC });
    expect(response).toBe(expected);
  });

  it.each([
    ['MD5', RFC_MD5_RESPONSE],
    ['SHA-256', RFC_SHA256_RESPONSE],
  ] as const)('accepts the Authorization header of the RFC with %s', async (algorithm, response) => {
    const nonceStore = new MemoryNonceStore();
    await nonceStore.issue(RFC.nonce, 60_000);
    // The HTTP request of the example, carried in a SIP message (the verifier only reads the request line).
    const message = buildRequest({
      method: RFC.method,
      uri: RFC.uri,
      from: '<sip:mufasa@example.org>;tag=1',
      to: '<sip:mufasa@example.org>',
      callId: 'rfc7616',
      cseq: 1,
      headers: [
        [
          'Authorization',
          `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, ` +
            `nonce="${RFC.nonce}", nc=00000001, cnonce="${RFC.cnonce}", qop=auth, response="${response}", opaque="${RFC.opaque}"`,
        ],
      ],
    });
    const users = new StaticUserDirectory([{ username: 'Mufasa', password: 'Circle of Life' }]);
    const result = await verify({ request: message, header: 'authorization', realm: RFC.realm, users, nonceStore });
    expect(result).toEqual({ outcome: 'ok', username: 'Mufasa', algorithm, ourRows: [0] });
  });
});

describe('a SIP REGISTER with MD5, computed independently with node:crypto', () => {
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const nonce = 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
  const cnonce = '0a4f113b';
  const ha1 = md5('bob:biloxi.com:zanzibar');
  const ha2 = md5('REGISTER:sip:biloxi.com');
  const response = md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`);
  const credential =
    `Digest username="bob", realm="biloxi.com", nonce="${nonce}", uri="sip:biloxi.com", ` +
    `response="${response}", algorithm=MD5, cnonce="${cnonce}", qop=auth, nc=00000001`;

  it('matches computeResponse', () => {
    expect(
      computeResponse({
        algorithm: 'MD5',
        ha1: computeHa1('MD5', 'bob', 'biloxi.com', 'zanzibar'),
        nonce,
        nc: '00000001',
        cnonce,
        qop: 'auth',
        method: 'REGISTER',
        uri: 'sip:biloxi.com',
      }),
    ).toBe(response);
  });

  it('verifies with a password and with a provisioned HA1', async () => {
    const nonceStore = new MemoryNonceStore();
    await nonceStore.issue(nonce, 60_000);
    const message = request({ uri: 'sip:biloxi.com', authorization: [credential] });
    const byPassword = new StaticUserDirectory([{ username: 'bob', password: 'zanzibar', realm: 'biloxi.com' }]);
    expect(
      await verify({ request: message, header: 'authorization', realm: 'biloxi.com', users: byPassword, nonceStore }),
    ).toEqual({ outcome: 'ok', username: 'bob', algorithm: 'MD5', ourRows: [0] });

    await nonceStore.issue(`${nonce}x`, 60_000);
    const second = request({
      uri: 'sip:biloxi.com',
      authorization: [
        `Digest username="bob", realm="biloxi.com", nonce="${nonce}x", uri="sip:biloxi.com", ` +
          `response="${md5(`${ha1}:${nonce}x:00000001:${cnonce}:auth:${ha2}`)}", algorithm=MD5, cnonce="${cnonce}", qop=auth, nc=00000001`,
      ],
    });
    const byHa1 = new StaticUserDirectory([{ username: 'bob', ha1Md5: ha1.toUpperCase(), realm: 'biloxi.com' }]);
    expect(
      await verify({ request: second, header: 'authorization', realm: 'biloxi.com', users: byHa1, nonceStore }),
    ).toMatchObject({ outcome: 'ok', username: 'bob' });
  });
});
