import { RecentMap } from '@sipedge/transaction';
import type { RouteTokenContent, TokenBinding } from './route-token.js';

/** Tokens remembered per keys object at most (`RecentMap`): a few seconds of calls at a high rate. */
export const OPENED_TOKENS_KEPT = 8192;

/**
 * The tokens issued or opened lately under one set of keys, with the binding each was proved for
 * and its content. A dialog's requests bring back the tokens its INVITE was given (an ACK, a BYE, each
 * with both Record-Route tokens), so each token is proved once, when it is issued, instead of by
 * an HMAC or AES-GCM per key and candidate binding on every request.
 *
 * What it remembers is only what the keys proved (or made): a token for one binding says nothing
 * of another. It is kept per keys object (route-token.ts `stateOf`), so new keys (a rotation that
 * retires a secret) start with nothing remembered, and a retired secret's tokens stop opening at
 * once. A remembered token opens faster than one proved afresh; that tells a sender only that the
 * token was seen before, which whoever holds it knows already.
 */
export class OpenedTokens {
  /**
   * By token: the binding it was proved (or made) for, and its content. A token's MAC or tag holds
   * for one binding, so one entry per token; keyed by the token alone, a lookup hashes no longer
   * string than the token itself.
   */
  readonly #opened = new RecentMap<string, { binding: TokenBinding; content: RouteTokenContent }>(OPENED_TOKENS_KEPT);

  /** The content of `token` when it was proved for one of `bindings`. */
  get(token: string, bindings: readonly TokenBinding[]): RouteTokenContent | undefined {
    const opened = this.#opened.get(token);
    if (opened === undefined) return undefined;
    return bindings.some((binding) => sameBinding(binding, opened.binding)) ? opened.content : undefined;
  }

  set(token: string, binding: TokenBinding, content: RouteTokenContent): void {
    this.#opened.set(token, { binding, content: deepFrozen(content) });
  }
}

function sameBinding(a: TokenBinding, b: TokenBinding): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/** One content object is handed to every request that brings its token: none of them may change it. */
function deepFrozen(content: RouteTokenContent): RouteTokenContent {
  if (content.flow !== undefined) Object.freeze(content.flow);
  if (content.routes !== undefined) Object.freeze(content.routes);
  return Object.freeze(content);
}
