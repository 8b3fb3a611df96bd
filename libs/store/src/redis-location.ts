import { Cluster } from 'ioredis';
import { hashTag, storeKeys } from './keys.js';
import type { Binding, LocationStore, RegisterOp, RegisterResult } from './ports.js';
import type { RegistrationList, RegistrationQuery } from './ports.js';
import { bindingOf } from './register-rules.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

/** The location service: one hash per AOR, changed by register.lua (§10.3 steps 6–7). */
export class RedisLocationStore implements LocationStore {
  private readonly registerScript;

  constructor(private readonly client: RedisClient) {
    this.registerScript = loadScript(client, 'register.lua');
  }

  async register(aor: string, op: RegisterOp, now: number): Promise<RegisterResult> {
    const args: (string | number)[] = [
      now,
      op.type,
      op.callId,
      op.cseq,
      op.type === 'update' ? (op.maxBindings ?? 0) : 0,
    ];
    if (op.type === 'update') {
      for (const b of op.bindings) args.push(b.uriKey, b.contact, b.expires, b.q, b.data);
    }
    const reply = (await guarded(this.client, () => this.registerScript(1, storeKeys.bindings(aor), ...args))) as (
      number | string
    )[];
    if (reply[0] === 0) return { ok: false, reason: 'out-of-order', uriKey: String(reply[1]) };
    if (reply[0] === 2) return { ok: false, reason: 'too-many', count: Number(reply[1]) };
    return { ok: true, bindings: reply.slice(1).map((json) => parseBinding(String(json))) };
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    const all = await guarded(this.client, () => this.client.hvals(storeKeys.bindings(aor)));
    return all.map(parseBinding).filter((b) => b.expiresAt > now);
  }

  async remove(aor: string, uriKeys: readonly string[]): Promise<void> {
    if (uriKeys.length === 0) return;
    await guarded(this.client, () => this.client.hdel(storeKeys.bindings(aor), ...uriKeys));
  }

  /**
   * SCAN over every primary's keys (`sipedge:loc:{*}`), the AORs filtered here (a glob would need the
   * user's text escaped), each one's bindings read with `lookup`; it stops once it has more than
   * `limit` or has examined LIST_MAX_EXAMINED keys, so one call costs bounded work on a big keyspace.
   */
  async list(query: RegistrationQuery, now: number): Promise<RegistrationList> {
    const match = query.match?.toLowerCase();
    const primaries = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const registrations: RegistrationList['registrations'] = [];
    let examined = 0;
    let complete = true;
    for (const node of primaries) {
      let cursor = '0';
      do {
        const [next, keys] = await guarded(this.client, () =>
          node.scan(cursor, 'MATCH', storeKeys.bindings('*'), 'COUNT', LIST_SCAN_COUNT),
        );
        cursor = next;
        examined += keys.length;
        for (const key of keys) {
          const aor = hashTag(key);
          if (match !== undefined && !aor.toLowerCase().includes(match)) continue;
          const bindings = await this.lookup(aor, now);
          if (bindings.length > 0) registrations.push({ aor, bindings });
        }
      } while (cursor !== '0' && examined < LIST_MAX_EXAMINED && registrations.length <= query.limit);
      if (cursor !== '0') complete = false;
      if (!complete) break;
    }
    registrations.sort((a, b) => (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : 0));
    return {
      registrations: registrations.slice(0, query.limit),
      truncated: !complete || registrations.length > query.limit,
    };
  }
}

/** Keys SCAN is asked for per call when listing registrations. */
const LIST_SCAN_COUNT = 1000;
/** Location keys one listing examines at most. */
const LIST_MAX_EXAMINED = 100_000;

/** A binding as register.lua stores it (JSON), with exactly the Binding fields. */
function parseBinding(json: string): Binding {
  return bindingOf(JSON.parse(json) as Binding);
}
