/**
 * Dialog-stateful tracking (the live calls operators list, and the active-dialog gauge): a dialog
 * opens when the proxy forwards a 2xx to an initial INVITE it Record-Routed (§12.1, §16.6 step 4:
 * it stays on the path) and closes with the dialog's BYE (§15.1.2); one whose BYE never came
 * through ends after DIALOG_LIFETIME_MS.
 */

/** How long a dialog is listed at most without a BYE (a call longer than this is unlisted early). */
export const DIALOG_LIFETIME_MS = 12 * 3600 * 1000;

/** A dialog's id: its Call-ID and both tags (§12), the same whichever side sends the request. */
export function dialogId(callId: string, tag: string | undefined, otherTag: string | undefined): string {
  return [callId, ...[tag ?? '', otherTag ?? ''].sort()].join(';');
}
