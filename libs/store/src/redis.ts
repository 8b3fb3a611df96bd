import type { Logger } from '@sipedge/telemetry';
import { Cluster } from 'ioredis';
import { assertOneSlot, hashTag, storeKeys } from './keys.js';
import type {
  Binding,
  CaptureFacts,
  CaptureLimits,
  CaptureStore,
  CapturedCall,
  CapturedSipMessage,
  CommitResult,
  ConnectionDirectory,
  DialogInfo,
  DialogStore,
  EdgeRegistry,
  LocationStore,
  NonceCheck,
  NonceStore,
  RecordStore,
  RecordWrite,
  RegisterOp,
  RegisterResult,
  RegistrationList,
  RegistrationQuery,
  StoredRecord,
  UserTable,
} from './ports.js';
import { RedisAbuseStore } from './redis-abuse.js';
import { bindingOf } from './register-rules.js';
import { type RedisClient, type RedisConnection, connectRedis, guarded, loadScript } from './redis-client.js';
import type { Stores } from './stores.js';

/** Records are stored as "<version>:<value>" strings, so MGET loads several with their versions. */
function decodeRecord(raw: string | null): StoredRecord | null {
  if (raw === null) return null;
  const colon = raw.indexOf(':');
  return { version: Number(raw.slice(0, colon)), value: raw.slice(colon + 1) };
}

/** Versioned records: MGET to load (one round trip), commit.lua to compare-and-set (one script). */
export class RedisRecordStore implements RecordStore {
  private readonly commitScript;

  constructor(private readonly client: RedisClient) {
    this.commitScript = loadScript(client, 'commit.lua');
  }

  async load(keys: readonly string[]): Promise<(StoredRecord | null)[]> {
    assertOneSlot(keys);
    const raw = await guarded(this.client, () => this.client.mget(...keys));
    return raw.map(decodeRecord);
  }

  async commit(writes: readonly RecordWrite[]): Promise<CommitResult> {
    assertOneSlot(writes.map((w) => w.key));
    const args: (string | number)[] = [];
    for (const w of writes) {
      args.push(w.expectedVersion, w.value === null ? 'del' : 'set', w.value ?? '', Math.max(1, Math.ceil(w.ttlMs)));
    }
    const reply = (await guarded(this.client, () =>
      this.commitScript(writes.length, ...writes.map((w) => w.key), ...args),
    )) as (number | string)[];
    if (reply[0] === 1) return { ok: true, versions: reply.slice(1).map(Number) };
    return { ok: false, conflicts: reply.slice(1).map(String) };
  }
}

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

export class RedisConnectionDirectory implements ConnectionDirectory {
  private readonly removeIf;

  constructor(private readonly client: RedisClient) {
    this.removeIf = loadScript(client, 'remove-if.lua');
  }

  async register(flowId: string, edgeId: string, ttlMs: number): Promise<void> {
    await guarded(this.client, () => this.client.set(storeKeys.connection(flowId), edgeId, 'PX', Math.ceil(ttlMs)));
  }

  async lookup(flowId: string): Promise<string | null> {
    return guarded(this.client, () => this.client.get(storeKeys.connection(flowId)));
  }

  async remove(flowId: string, edgeId: string): Promise<void> {
    await guarded(this.client, () => this.removeIf(1, storeKeys.connection(flowId), edgeId));
  }
}

/** Live edges: a sorted set scored by each edge's heartbeat expiry. */
export class RedisEdgeRegistry implements EdgeRegistry {
  constructor(private readonly client: RedisClient) {}

  async heartbeat(edgeId: string, ttlMs: number, now: number): Promise<void> {
    await guarded(this.client, () => this.client.zadd(storeKeys.edges(), now + ttlMs, edgeId));
  }

  async live(now: number): Promise<string[]> {
    const key = storeKeys.edges();
    const [, live] = await guarded(this.client, () =>
      Promise.all([this.client.zremrangebyscore(key, '-inf', now), this.client.zrangebyscore(key, `(${now}`, '+inf')]),
    );
    return live.sort();
  }

  async remove(edgeId: string): Promise<void> {
    await guarded(this.client, () => this.client.zrem(storeKeys.edges(), edgeId));
  }
}

export class RedisNonceStore implements NonceStore {
  private readonly useScript;

  constructor(private readonly client: RedisClient) {
    this.useScript = loadScript(client, 'use-nonce.lua');
  }

  async issue(nonce: string, ttlMs: number): Promise<void> {
    await guarded(this.client, () => this.client.set(storeKeys.nonce(nonce), '0', 'PX', Math.ceil(ttlMs), 'NX'));
  }

  async use(nonce: string, nc: number | null): Promise<NonceCheck> {
    const reply = await guarded(this.client, () => this.useScript(1, storeKeys.nonce(nonce), nc === null ? '' : nc));
    return reply as NonceCheck;
  }
}

export class RedisUserTable implements UserTable {
  constructor(private readonly client: RedisClient) {}

  async get(realm: string, username: string): Promise<string | null> {
    return guarded(this.client, () => this.client.hget(storeKeys.users(realm), username));
  }

  async put(realm: string, username: string, entry: string | null): Promise<void> {
    const key = storeKeys.users(realm);
    await guarded(this.client, () =>
      entry === null ? this.client.hdel(key, username) : this.client.hset(key, username, entry),
    );
  }
}

export class RedisDialogStore implements DialogStore {
  private readonly openScript;
  private readonly closeScript;
  private readonly listScript;
  private readonly keys = [storeKeys.dialogs(), storeKeys.dialogEnds()];

  constructor(private readonly client: RedisClient) {
    this.openScript = loadScript(client, 'dialog-open.lua');
    this.closeScript = loadScript(client, 'dialog-close.lua');
    this.listScript = loadScript(client, 'dialog-list.lua');
  }

  async open(dialog: DialogInfo, endsAt: number): Promise<void> {
    await guarded(this.client, () => this.openScript(2, ...this.keys, dialog.id, JSON.stringify(dialog), endsAt));
  }

  async close(id: string): Promise<void> {
    await guarded(this.client, () => this.closeScript(2, ...this.keys, id));
  }

  async list(limit: number, now: number): Promise<{ total: number; dialogs: DialogInfo[] }> {
    const reply = (await guarded(this.client, () => this.listScript(2, ...this.keys, now, limit))) as (
      number | string
    )[];
    return { total: Number(reply[0]), dialogs: reply.slice(1).map((json) => JSON.parse(String(json)) as DialogInfo) };
  }
}

export class RedisCaptureStore implements CaptureStore {
  private readonly addScript;
  private readonly callsScript;

  constructor(private readonly client: RedisClient) {
    this.addScript = loadScript(client, 'capture-add.lua');
    this.callsScript = loadScript(client, 'capture-calls.lua');
  }

  async add(
    entries: readonly { message: CapturedSipMessage; facts: CaptureFacts }[],
    limits: CaptureLimits,
    now: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    const keys = [
      storeKeys.captureIndex(),
      storeKeys.captureSummaries(),
      ...entries.map((e) => storeKeys.captureMessages(e.message.callId)),
    ];
    const args = entries.flatMap(({ message, facts }) => [
      message.callId,
      JSON.stringify(message),
      JSON.stringify({ ...facts, at: message.at }),
    ]);
    await guarded(this.client, () =>
      this.addScript(
        keys.length,
        ...keys,
        now,
        limits.retentionMs,
        limits.maxCalls,
        limits.maxMessagesPerCall,
        ...args,
      ),
    );
  }

  async calls(limit: number): Promise<CapturedCall[]> {
    const keys = [storeKeys.captureIndex(), storeKeys.captureSummaries()];
    const reply = (await guarded(this.client, () => this.callsScript(2, ...keys, limit))) as string[];
    return reply.map((json) => {
      const s = JSON.parse(json) as Omit<CapturedCall, 'method' | 'from' | 'to' | 'status'> & {
        method?: string;
        from?: string;
        to?: string;
        status: number;
      };
      return {
        callId: s.callId,
        method: s.method ?? null,
        from: s.from ?? null,
        to: s.to ?? null,
        status: s.status === 0 ? null : s.status,
        startedAt: s.startedAt,
        lastAt: s.lastAt,
        messages: s.messages,
      };
    });
  }

  async messages(callId: string): Promise<CapturedSipMessage[]> {
    const all = await guarded(this.client, () => this.client.lrange(storeKeys.captureMessages(callId), 0, -1));
    return all.map((json) => JSON.parse(json) as CapturedSipMessage).sort((a, b) => a.at - b.at);
  }
}

/** Every store port on one Redis connection (single server or Cluster). */
export async function createRedisStores(
  connection: RedisConnection,
  logger?: Logger,
): Promise<Stores & { client: RedisClient }> {
  const client = await connectRedis(connection, logger);
  return {
    client,
    records: new RedisRecordStore(client),
    locations: new RedisLocationStore(client),
    connections: new RedisConnectionDirectory(client),
    edges: new RedisEdgeRegistry(client),
    nonces: new RedisNonceStore(client),
    users: new RedisUserTable(client),
    dialogs: new RedisDialogStore(client),
    captures: new RedisCaptureStore(client),
    abuse: new RedisAbuseStore(client),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
