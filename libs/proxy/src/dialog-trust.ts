import { type SipMessage, type Uri, parseNameAddr, parseUri } from '@sipedge/sip';
import { type RouteAction, type SelfConfig, isOurRecordRouteUri } from './route.js';
import { type RouteTokenContent, type RouteTokenKeys, openRouteToken, signRouteToken } from './route-token.js';

/**
 * Which requests belong to a dialog this proxy serves (§12, §16.4). Only a request with a To tag
 * is inside a dialog (§12.2), and the dialogs this proxy serves are those it Record-Routed: their
 * requests come back with our Record-Route URI as their top Route (or, after a strict router, as
 * their Request-URI). That URI carries a token bound to the dialog, so a Route naming us, a made-up
 * To tag, or a Record-Route copied from another call is not taken for a dialog: such a request is
 * an initial one (authentication and the no-relay rule apply).
 *
 * The token is bound to the Call-ID and the From tag of the request that created the dialog: the
 * To tag is not known when the Record-Route is inserted. Every later request of the dialog carries
 * that tag as its From tag (sent by the caller, §12.2.1.1) or as its To tag (sent by the callee,
 * whose From and To are the other way round).
 */

/** The token for the Record-Route of a request that may create a dialog (§16.6 step 4). */
export function dialogRouteToken(keys: RouteTokenKeys, request: SipMessage, content: RouteTokenContent = {}): string {
  return signRouteToken(keys, content, dialogBinding(request.callId, request.from.tag));
}

/**
 * The content of the token of a dialog this proxy serves, when `request` is inside it: it has a To
 * tag and the Record-Route URI of ours that route pre-processing (§16.4) consumed carries a token
 * for this Call-ID and the From or To tag. Undefined otherwise.
 */
export function verifiedDialog(
  keys: RouteTokenKeys,
  request: SipMessage,
  actions: readonly RouteAction[],
  config: SelfConfig,
): RouteTokenContent | undefined {
  const to = request.to.tag;
  if (to === undefined) return undefined;
  const uri = consumedRecordRoute(actions);
  if (uri === undefined || uri.kind !== 'sip' || uri.user === null || !isOurRecordRouteUri(uri, config)) {
    return undefined;
  }
  const { callId } = request;
  return openRouteToken(keys, uri.user, [dialogBinding(callId, request.from.tag), dialogBinding(callId, to)]);
}

/** The URI of ours that §16.4 removed: the strict router's Request-URI first (¶1), else the top Route (¶3). */
function consumedRecordRoute(actions: readonly RouteAction[]): Uri | undefined {
  for (const action of actions) {
    if (action.kind === 'strict-router-undo') return parseUri(action.recordRouteUri);
  }
  for (const action of actions) {
    if (action.kind === 'own-route-removed') return parseNameAddr(action.route).uri;
  }
  return undefined;
}

function dialogBinding(callId: string, tag: string | undefined): readonly string[] {
  return ['dialog', callId, tag ?? ''];
}
