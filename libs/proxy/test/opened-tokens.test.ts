import type * as NodeCrypto from 'node:crypto';
import type * as TokenKeys from '../src/token-keys.js';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// Every HMAC and AES-GCM decipher the token code makes is counted: a remembered token is not proved again.
const made = vi.hoisted(() => ({ hmacs: 0, deciphers: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof NodeCrypto>();
  return {
    ...crypto,
    createDecipheriv: (...args: Parameters<typeof crypto.createDecipheriv>) => {
      made.deciphers++;
      return crypto.createDecipheriv(...args);
    },
  };
});
vi.mock('../src/token-keys.js', async (importOriginal) => {
  const { PreparedSecret } = await importOriginal<typeof TokenKeys>();
  class CountedSecret extends PreparedSecret {
    override hmac(message: Buffer): Buffer {
      made.hmacs++;
      return super.hmac(message);
    }
  }
  return { PreparedSecret: CountedSecret };
});

const { OPENED_TOKENS_KEPT } = await import('../src/opened-tokens.js');
const { dialogBinding, openRouteToken, sealRouteToken, signRouteToken } = await import('../src/route-token.js');

const SECRET = 'opened-tokens-test-secret-0123456789abcdef';
const OLD_SECRET = 'opened-tokens-test-old-secret-0123456789ab';
const FLOW = { transport: 'udp', address: '198.51.100.7', port: 5062 } as const;
const CALLER = dialogBinding('call-1@ua', 'caller-tag');
const CALLEE = dialogBinding('call-1@ua', 'callee-tag');

beforeEach(() => {
  made.hmacs = 0;
  made.deciphers = 0;
});

describe('route tokens issued or opened lately are not proved again', () => {
  it("opens the tokens a dialog's INVITE was given without an HMAC, from either side of the dialog", () => {
    const keys = { secret: SECRET };
    const token = signRouteToken(keys, { flow: FLOW }, CALLER);
    expect(made.hmacs).toBe(1);
    // The caller's ACK and BYE: its tag is the From tag; the callee's BYE: the To tag.
    expect(openRouteToken(keys, token, [CALLER, CALLEE])).toEqual({ flow: FLOW });
    expect(openRouteToken(keys, token, [CALLEE, CALLER])).toEqual({ flow: FLOW });
    expect(made.hmacs).toBe(1);
  });

  it('proves a token it has not seen once, trying every key and binding, then remembers it', () => {
    const token = signRouteToken({ secret: SECRET }, { flow: FLOW }, CALLER);
    const other = { secret: SECRET, previous: [OLD_SECRET] };
    made.hmacs = 0;
    expect(openRouteToken(other, token, [CALLEE, CALLER])).toEqual({ flow: FLOW });
    expect(made.hmacs).toBe(4);
    expect(openRouteToken(other, token, [CALLER])).toEqual({ flow: FLOW });
    expect(made.hmacs).toBe(4);
  });

  it('remembers a token for the binding it was made for only', () => {
    const keys = { secret: SECRET };
    const token = signRouteToken(keys, { flow: FLOW }, CALLER);
    expect(openRouteToken(keys, token, [CALLEE])).toBeUndefined();
    expect(openRouteToken(keys, token, [dialogBinding('call-2@ua', 'caller-tag')])).toBeUndefined();
    expect(openRouteToken(keys, `${token.slice(0, -2)}AA`, [CALLER])).toBeUndefined();
  });

  it('forgets with the keys: a rotation that retires a secret stops its tokens at once', () => {
    const rotating = { secret: SECRET, previous: [OLD_SECRET] };
    const token = signRouteToken({ secret: OLD_SECRET }, {}, CALLER);
    expect(openRouteToken(rotating, token, [CALLER])).toEqual({});
    const retired = { secret: SECRET };
    expect(openRouteToken(retired, token, [CALLER])).toBeUndefined();
  });

  it('hands out a content no request can change', () => {
    const keys = { secret: SECRET };
    const token = signRouteToken(keys, { flow: FLOW }, CALLER);
    const content = openRouteToken(keys, token, [CALLER]);
    expect(Object.isFrozen(content)).toBe(true);
    expect(Object.isFrozen(content?.flow)).toBe(true);
    const sealed = sealRouteToken(keys, { flow: FLOW, routes: ['<sip:p1.example.com;lr>'] }, CALLER);
    const opened = openRouteToken(keys, sealed, [CALLEE, CALLER]);
    expect(opened).toEqual({ flow: FLOW, routes: ['<sip:p1.example.com;lr>'] });
    expect(Object.isFrozen(opened?.routes)).toBe(true);
    expect(made.deciphers).toBe(0);
  });

  it(`keeps the last ${OPENED_TOKENS_KEPT} tokens: an older one is proved again, and still opens`, () => {
    const keys = { secret: SECRET };
    const first = signRouteToken(keys, {}, CALLER);
    for (let i = 0; i < OPENED_TOKENS_KEPT; i++) signRouteToken(keys, {}, dialogBinding(`call-${i}@ua`, 'tag'));
    made.hmacs = 0;
    expect(openRouteToken(keys, first, [CALLER])).toEqual({});
    expect(made.hmacs).toBe(1);
  });

  it('keeps a token in use: opened once in every half of OPENED_TOKENS_KEPT tokens, it stays', () => {
    const keys = { secret: SECRET };
    const used = signRouteToken(keys, {}, CALLER);
    const unused = signRouteToken(keys, {}, CALLEE);
    for (let i = 0; i < 2 * OPENED_TOKENS_KEPT; i++) {
      signRouteToken(keys, {}, dialogBinding(`call-${i}@ua`, 'tag'));
      if (i % (OPENED_TOKENS_KEPT / 2) === 0) openRouteToken(keys, used, [CALLER]);
    }
    made.hmacs = 0;
    expect(openRouteToken(keys, used, [CALLER])).toEqual({});
    expect(made.hmacs).toBe(0);
    expect(openRouteToken(keys, unused, [CALLEE])).toEqual({});
    expect(made.hmacs).toBe(1);
  });
});
