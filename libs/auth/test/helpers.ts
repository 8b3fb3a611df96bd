import { type SipMessage, parseMessage } from '@sipedge/sip';
import type { NonceStore } from '../src/index.js';

/** Parses a SIP message written with \n line ends, in the binary (latin1) form of header text. */
export function sip(text: string): SipMessage {
  return parseMessage(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'));
}

/** A REGISTER or INVITE with the given credential rows. */
export function request(
  options: { method?: string; uri?: string; authorization?: string[]; proxyAuthorization?: string[] } = {},
): SipMessage {
  const method = options.method ?? 'REGISTER';
  const uri = options.uri ?? 'sip:example.com';
  const rows = [
    ...(options.authorization ?? []).map((v) => `Authorization: ${v}`),
    ...(options.proxyAuthorization ?? []).map((v) => `Proxy-Authorization: ${v}`),
  ];
  return sip(
    [
      `${method} ${uri} SIP/2.0`,
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
      'Max-Forwards: 70',
      'To: <sip:alice@example.com>',
      'From: <sip:alice@example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.example.com',
      `CSeq: 1 ${method}`,
      'Contact: <sip:alice@192.0.2.10>',
      ...rows,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

/** A NonceStore that counts calls and forwards them to another store. */
export class CountingNonceStore implements NonceStore {
  issued = 0;
  used = 0;
  constructor(private readonly inner: NonceStore) {}

  async issue(nonce: string, ttlMs: number): Promise<void> {
    this.issued++;
    await this.inner.issue(nonce, ttlMs);
  }

  async use(nonce: string, nc: number | null): Promise<'ok' | 'unknown' | 'replay'> {
    this.used++;
    return this.inner.use(nonce, nc);
  }
}

export const SECRET = 'a-test-secret-of-at-least-32-bytes-0123456789';
