/** At most this long: a keep-alive is a few bytes (Kamailio ignores UDP packets this short alike). */
const MAX_KEEPALIVE_BYTES = 32;

/**
 * A UDP keep-alive a phone sends to keep its NAT binding open: a datagram of CR, LF, spaces or NUL
 * bytes only, at most 32 bytes. Many UAs send RFC 5626 §4.4.1's CRLF ping over UDP too ("\r\n\r\n",
 * some "\r\n" or four NULs). It is no SIP message, so no parse error, and nothing answers it (a pong
 * exists only on streams; a UA that wants an answer over UDP uses STUN, §4.4.2).
 */
export function isKeepaliveDatagram(data: Buffer): boolean {
  if (data.length > MAX_KEEPALIVE_BYTES) return false;
  for (const byte of data) {
    if (byte !== 0x0d && byte !== 0x0a && byte !== 0x20 && byte !== 0x00) return false;
  }
  return true;
}
