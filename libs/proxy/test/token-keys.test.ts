import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PreparedSecret } from '../src/token-keys.js';

describe('PreparedSecret.hmac: HMAC-SHA-256 (RFC 2104) with the pads computed once', () => {
  // RFC 4231 §4.3 (test case 2) and §4.7 (test case 6: a key longer than the block, hashed first).
  it('gives the RFC 4231 results', () => {
    expect(
      new PreparedSecret(Buffer.from('Jefe')).hmac(Buffer.from('what do ya want for nothing?')).toString('hex'),
    ).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    const message = Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First');
    expect(new PreparedSecret(Buffer.alloc(131, 0xaa)).hmac(message).toString('hex')).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it("matches Node's HMAC for keys around the block size and any message, and the same secret twice", () => {
    for (const length of [32, 63, 64, 65, 200]) {
      const secret = Buffer.alloc(length, length);
      const prepared = new PreparedSecret(secret);
      for (const message of [Buffer.alloc(0), Buffer.from('sipedge route token v1\0'), Buffer.alloc(1000, 7)]) {
        const expected = createHmac('sha256', secret).update(message).digest('hex');
        expect(prepared.hmac(message).toString('hex')).toBe(expected);
        expect(prepared.hmac(message).toString('hex')).toBe(expected);
      }
    }
  });
});
