/**
 * Redis Cluster hash tags (https://redis.io/docs/reference/cluster-spec/#hash-tags): the part of a
 * key between the first "{" and the next "}", when not empty, decides its slot. Keys that one
 * script touches must share it.
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** Throws a TypeError unless every key has the same hash tag (one slot, one script). */
export function assertOneSlot(keys: readonly string[]): void {
  if (keys.length === 0) throw new TypeError('expected at least one key');
  const tag = hashTag(keys[0]!);
  for (const key of keys) {
    if (hashTag(key) !== tag) throw new TypeError(`keys ${keys[0]} and ${key} do not share a hash tag`);
  }
}

/** Key layout of the store's own records. */
export const storeKeys = {
  bindings: (aor: string) => `sipedge:loc:{${aor}}`,
  connection: (flowId: string) => `sipedge:conn:{${flowId}}`,
  edges: () => 'sipedge:edges',
  nonce: (nonce: string) => `sipedge:nonce:{${nonce}}`,
  users: (realm: string) => `sipedge:users:{${realm}}`,
  /** The live dialogs: their descriptions and their expiry index, under one hash tag (one script). */
  dialogs: () => 'sipedge:{dialogs}:info',
  dialogEnds: () => 'sipedge:{dialogs}:ends',
  /** The captured calls (call-flow page), all under one hash tag: one script adds a batch. */
  captureIndex: () => 'sipedge:{capture}:calls',
  captureSummaries: () => 'sipedge:{capture}:summary',
  captureMessages: (callId: string) => `sipedge:{capture}:msgs:${callId}`,
  /** One hash per request-counter window (address → count): one key, so one slot per batch. */
  requests: (window: number) => `sipedge:pike:{${window}}`,
  /** One counter per failed-authentication key, each in its own slot. */
  authFailures: (key: string) => `sipedge:authfail:{${key}}`,
  /** The ban list, under one hash tag so one script changes all three atomically. */
  bansUntil: () => 'sipedge:{bans}:until',
  bansInfo: () => 'sipedge:{bans}:info',
  bansVersion: () => 'sipedge:{bans}:version',
};
