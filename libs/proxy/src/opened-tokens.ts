import { RecentMap } from '@sipedge/transaction';
import type { RouteTokenContent, RouteTokenKeys, TokenBinding } from './route-token.js';

/** Tokens remembered per keys object at most (`RecentMap`): a few seconds of calls at a high rate. */
export const OPENED_TOKENS_KEPT = 8192;

/**
 * The tokens issued or opened lately under one set of keys, by token and binding, with their
 * content. A dialog's requests bring back the tokens its INVITE was given (an ACK, a BYE, each
 * with both Record-Route tokens), so each token is proved once, when it is issued, instead of by
 * an HMAC or AES-GCM per key and candidate binding on every request.
 *
 * What it remembers is only what the keys proved (or made): a token for one binding says nothing
 * of another. It is kept per keys object, so new keys (a rotation that retires a secret) start
 * with nothing remembered, and a retired secret's tokens stop opening at once. A remembered token
 * opens faster than one proved afresh; that tells a sender only that the token was seen before,
 * which whoever holds it knows already.
 */
class OpenedTokens {
  readonly #contents = new RecentMap<string, RouteTokenContent>(OPENED_TOKENS_KEPT);

  get(token: string, binding: TokenBinding): RouteTokenContent | undefined {
    return this.#contents.get(keyOf(token, binding));
  }

  set(token: string, binding: TokenBinding, content: RouteTokenContent): void {
    this.#contents.set(keyOf(token, binding), deepFrozen(content));
  }
}

const byKeys = new WeakMap<RouteTokenKeys, OpenedTokens>();

/** The tokens remembered under `keys`. */
export function openedTokens(keys: RouteTokenKeys): OpenedTokens {
  let opened = byKeys.get(keys);
  if (opened === undefined) {
    opened = new OpenedTokens();
    byKeys.set(keys, opened);
  }
  return opened;
}

/** The token and each binding string, length-prefixed: no two (token, binding) pairs share a key. */
function keyOf(token: string, binding: TokenBinding): string {
  let key = token;
  for (const part of binding) key += ` ${part.length}:${part}`;
  return key;
}

/** One content object is handed to every request that brings its token: none of them may change it. */
function deepFrozen(content: RouteTokenContent): RouteTokenContent {
  if (content.flow !== undefined) Object.freeze(content.flow);
  if (content.routes !== undefined) Object.freeze(content.routes);
  return Object.freeze(content);
}
