import { type SipMessage, parseMessage } from '@sipedge/sip';
import { expect } from 'vitest';
import { type RouteTokenKeys, openRouteToken } from '../../src/index.js';

/** The secret of another fleet: none of the tests' tokens opens with it. */
export const OTHER: RouteTokenKeys = { secret: 'another-fleet-secret-0123456789abcdefgh' };

/** A message from its start line and header rows, with `Content-Length: 0` and no body. */
export function msg(lines: string[]): SipMessage {
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, 'latin1'));
}

/**
 * Expects `token`, made with `keys` and bound to ['a', 'b'], to open with nothing else: not with
 * another binding, not with OTHER's secret, not after any one character is changed, not truncated.
 */
export function expectBoundToken(keys: RouteTokenKeys, token: string): void {
  expect(openRouteToken(keys, token, [['a', 'c'], ['ab'], ['a', 'b', '']])).toBeUndefined();
  expect(openRouteToken(OTHER, token, [['a', 'b']])).toBeUndefined();
  for (let i = 0; i < token.length; i++) {
    const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    expect(openRouteToken(keys, changed, [['a', 'b']])).toBeUndefined();
  }
  expect(openRouteToken(keys, token.slice(0, -2), [['a', 'b']])).toBeUndefined();
}
