import { banOf, byAddress, checkBan, checkRequests, wholeMs } from './abuse-rules.js';
import { assertOneSlot, storeKeys } from './keys.js';
import type { AbuseStore, Ban, RequestCounts } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

/**
 * Abuse state in Redis (single server or Cluster):
 * - request counters: one hash per window, `sipedge:pike:{<window>}` address → count, changed by
 *   `lua/add-requests.lua` (HINCRBY each, PEXPIRE at the first addition): one key, one round trip;
 * - failure counters: `sipedge:authfail:{<key>}`, `lua/count-failure.lua` (INCR, PEXPIRE at 1), one
 *   script call per key (each key in its own slot), sent together;
 * - bans under the hash tag `{bans}`: sorted set `sipedge:{bans}:until` (address scored by until),
 *   hash `sipedge:{bans}:info` (address → Ban JSON) and counter `sipedge:{bans}:version`, changed
 *   together by `lua/ban.lua`, `lua/unban.lua` and `lua/bans.lua`.
 */
export class RedisAbuseStore implements AbuseStore {
  private readonly addRequestsScript;
  private readonly countFailureScript;
  private readonly banScript;
  private readonly unbanScript;
  private readonly bansScript;
  private readonly banKeys = [storeKeys.bansUntil(), storeKeys.bansInfo(), storeKeys.bansVersion()] as const;

  constructor(private readonly client: RedisClient) {
    assertOneSlot(this.banKeys);
    this.addRequestsScript = loadScript(client, 'add-requests.lua');
    this.countFailureScript = loadScript(client, 'count-failure.lua');
    this.banScript = loadScript(client, 'ban.lua');
    this.unbanScript = loadScript(client, 'unban.lua');
    this.bansScript = loadScript(client, 'bans.lua');
  }

  async addRequests(window: number, counts: RequestCounts, ttlMs: number): Promise<number[]> {
    const px = checkRequests(counts, ttlMs);
    if (counts.length === 0) return [];
    const args: (string | number)[] = [px];
    for (const [address, count] of counts) args.push(address, count);
    const totals = (await guarded(this.client, () =>
      this.addRequestsScript(1, storeKeys.requests(window), ...args),
    )) as number[];
    return totals.map(Number);
  }

  async countFailures(keys: readonly string[], windowMs: number): Promise<number[]> {
    const px = wholeMs(windowMs, 'windowMs');
    if (keys.length === 0) return [];
    const counts = await guarded(this.client, () =>
      Promise.all(keys.map((key) => this.countFailureScript(1, storeKeys.authFailures(key), px))),
    );
    return counts.map(Number);
  }

  async clearFailures(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    // One DEL per key: a multi-key DEL would cross slots in a Cluster.
    await guarded(this.client, () => Promise.all(keys.map((key) => this.client.del(storeKeys.authFailures(key)))));
  }

  async ban(ban: Ban): Promise<void> {
    checkBan(ban);
    const b = banOf(ban);
    await guarded(this.client, () => this.banScript(3, ...this.banKeys, b.address, b.until, JSON.stringify(b)));
  }

  async unban(address: string): Promise<boolean> {
    const lifted = await guarded(this.client, () => this.unbanScript(3, ...this.banKeys, address, Date.now()));
    return lifted === 1;
  }

  async bans(now: number): Promise<Ban[]> {
    const [until, info] = this.banKeys;
    const all = (await guarded(this.client, () => this.bansScript(2, until, info, now))) as string[];
    return all
      .map((json) => banOf(JSON.parse(json) as Ban))
      .filter((b) => b.until > now)
      .sort(byAddress);
  }

  async version(): Promise<number> {
    const raw = await guarded(this.client, () => this.client.get(storeKeys.bansVersion()));
    return Number(raw ?? 0);
  }
}
