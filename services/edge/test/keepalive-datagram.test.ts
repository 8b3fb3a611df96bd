import { describe, expect, it } from 'vitest';
import { isKeepaliveDatagram } from '../src/keepalive-datagram.js';

describe('UDP keep-alive datagrams (RFC 5626 §4.4.1 pings sent over UDP)', () => {
  it('is a short datagram of CR, LF, spaces or NULs, and nothing else', () => {
    for (const ping of ['\r\n\r\n', '\r\n', '\0\0\0\0', ' \r\n', '']) {
      expect(isKeepaliveDatagram(Buffer.from(ping, 'latin1'))).toBe(true);
    }
    expect(isKeepaliveDatagram(Buffer.from('\r\n'.repeat(17), 'latin1'))).toBe(false);
    expect(isKeepaliveDatagram(Buffer.from('\r\nOPTIONS', 'latin1'))).toBe(false);
    expect(isKeepaliveDatagram(Buffer.from('SIP/2.0 200 OK\r\n\r\n', 'latin1'))).toBe(false);
  });
});
