import { assertOneSlot } from './keys.js';
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
import { MemoryAbuseStore } from './memory-abuse.js';
import { ExpiringMap } from './expiring-map.js';
import { newCapturedCall, summarize } from './capture-rules.js';
import { bindingOf, isOutOfOrder } from './register-rules.js';
import type { Stores } from './stores.js';

/** In-memory twin of the Redis record store: versions, all-or-nothing CAS, one-slot rule, TTLs. */
export class MemoryRecordStore implements RecordStore {
  private readonly records = new ExpiringMap<StoredRecord>();

  async load(keys: readonly string[]): Promise<(StoredRecord | null)[]> {
    assertOneSlot(keys);
    return keys.map((k) => this.records.get(k) ?? null);
  }

  async commit(writes: readonly RecordWrite[]): Promise<CommitResult> {
    assertOneSlot(writes.map((w) => w.key));
    const conflicts = writes
      .filter((w) => (this.records.get(w.key)?.version ?? 0) !== w.expectedVersion)
      .map((w) => w.key);
    if (conflicts.length > 0) return { ok: false, conflicts };
    const versions = writes.map((w) => {
      if (w.value === null) {
        this.records.delete(w.key);
        return 0;
      }
      const version = w.expectedVersion + 1;
      this.records.set(w.key, { value: w.value, version }, Date.now() + w.ttlMs);
      return version;
    });
    return { ok: true, versions };
  }

  clear(): void {
    this.records.clear();
  }
}

/** In-memory twin of the Redis location service (§10.3). */
export class MemoryLocationStore implements LocationStore {
  private readonly aors = new ExpiringMap<Map<string, Binding>>();

  async register(aor: string, op: RegisterOp, now: number): Promise<RegisterResult> {
    const current = new Map([...(this.aors.get(aor) ?? [])].filter(([, b]) => b.expiresAt > now));
    const before = current.size;
    const updates = op.type === 'update' ? op.bindings : [];
    const checked = op.type === 'remove-all' ? [...current.keys()] : updates.map((u) => u.uriKey);
    for (const uriKey of checked) {
      if (isOutOfOrder(current.get(uriKey), op)) return { ok: false, reason: 'out-of-order', uriKey };
    }
    if (op.type === 'remove-all') current.clear();
    for (const u of updates) {
      if (u.expires === 0) current.delete(u.uriKey);
      else {
        const expiresAt = now + u.expires * 1000;
        current.set(u.uriKey, { ...u, expiresAt, callId: op.callId, cseq: op.cseq });
      }
    }
    if (op.type === 'update' && op.maxBindings !== undefined && current.size > Math.max(op.maxBindings, before)) {
      return { ok: false, reason: 'too-many', count: current.size };
    }
    if (current.size === 0) this.aors.delete(aor);
    else this.aors.set(aor, current, Math.max(...[...current.values()].map((b) => b.expiresAt)));
    return { ok: true, bindings: [...current.values()].map(bindingOf) };
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    return [...(this.aors.get(aor)?.values() ?? [])].filter((b) => b.expiresAt > now).map(bindingOf);
  }

  async list(query: RegistrationQuery, now: number): Promise<RegistrationList> {
    const match = query.match?.toLowerCase();
    const registrations: RegistrationList['registrations'] = [];
    for (const [aor, bindings] of this.aors.live()) {
      if (match !== undefined && !aor.toLowerCase().includes(match)) continue;
      const current = [...bindings.values()].filter((b) => b.expiresAt > now).map(bindingOf);
      if (current.length > 0) registrations.push({ aor, bindings: current });
      if (registrations.length > query.limit) break;
    }
    registrations.sort((a, b) => (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : 0));
    return { registrations: registrations.slice(0, query.limit), truncated: registrations.length > query.limit };
  }

  async remove(aor: string, uriKeys: readonly string[]): Promise<void> {
    const bindings = this.aors.get(aor);
    if (bindings === undefined) return;
    for (const uriKey of uriKeys) bindings.delete(uriKey);
    if (bindings.size === 0) this.aors.delete(aor);
  }

  clear(): void {
    this.aors.clear();
  }
}

export class MemoryConnectionDirectory implements ConnectionDirectory {
  private readonly flows = new ExpiringMap<string>();

  async register(flowId: string, edgeId: string, ttlMs: number): Promise<void> {
    this.flows.set(flowId, edgeId, Date.now() + ttlMs);
  }

  async lookup(flowId: string): Promise<string | null> {
    return this.flows.get(flowId) ?? null;
  }

  async remove(flowId: string, edgeId: string): Promise<void> {
    if (this.flows.get(flowId) === edgeId) this.flows.delete(flowId);
  }

  clear(): void {
    this.flows.clear();
  }
}

export class MemoryEdgeRegistry implements EdgeRegistry {
  private readonly edges = new Map<string, number>();

  async heartbeat(edgeId: string, ttlMs: number, now: number): Promise<void> {
    this.edges.set(edgeId, now + ttlMs);
  }

  async live(now: number): Promise<string[]> {
    for (const [id, expiresAt] of this.edges) if (expiresAt <= now) this.edges.delete(id);
    return [...this.edges.keys()].sort();
  }

  async remove(edgeId: string): Promise<void> {
    this.edges.delete(edgeId);
  }

  clear(): void {
    this.edges.clear();
  }
}

export class MemoryNonceStore implements NonceStore {
  private readonly nonces = new ExpiringMap<number>();

  async issue(nonce: string, ttlMs: number): Promise<void> {
    if (this.nonces.get(nonce) === undefined) this.nonces.set(nonce, 0, Date.now() + ttlMs);
  }

  async use(nonce: string, nc: number | null): Promise<NonceCheck> {
    const last = this.nonces.get(nonce);
    if (last === undefined) return 'unknown';
    if (nc === null) return 'ok';
    if (nc <= last) return 'replay';
    this.nonces.replace(nonce, nc);
    return 'ok';
  }

  clear(): void {
    this.nonces.clear();
  }
}

export class MemoryUserTable implements UserTable {
  private readonly entries = new Map<string, string>();

  async get(realm: string, username: string): Promise<string | null> {
    return this.entries.get(JSON.stringify([realm, username])) ?? null;
  }

  async put(realm: string, username: string, entry: string | null): Promise<void> {
    const key = JSON.stringify([realm, username]);
    if (entry === null) this.entries.delete(key);
    else this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}

export class MemoryDialogStore implements DialogStore {
  private readonly dialogs = new Map<string, { dialog: DialogInfo; endsAt: number }>();

  async open(dialog: DialogInfo, endsAt: number): Promise<void> {
    this.dialogs.set(dialog.id, { dialog: { ...dialog }, endsAt });
  }

  async close(id: string): Promise<void> {
    this.dialogs.delete(id);
  }

  async list(limit: number, now: number): Promise<{ total: number; dialogs: DialogInfo[] }> {
    for (const [id, { endsAt }] of this.dialogs) if (endsAt <= now) this.dialogs.delete(id);
    const live = [...this.dialogs.values()].sort((a, b) => b.endsAt - a.endsAt);
    return { total: live.length, dialogs: live.slice(0, limit).map(({ dialog }) => ({ ...dialog })) };
  }

  clear(): void {
    this.dialogs.clear();
  }
}

export class MemoryCaptureStore implements CaptureStore {
  private readonly calls_ = new Map<string, { summary: CapturedCall; messages: CapturedSipMessage[] }>();

  async add(
    entries: readonly { message: CapturedSipMessage; facts: CaptureFacts }[],
    limits: CaptureLimits,
    now: number,
  ): Promise<void> {
    for (const { message, facts } of entries) {
      const call = this.calls_.get(message.callId) ?? {
        summary: newCapturedCall(message.callId, message.at),
        messages: [],
      };
      call.messages.push(message);
      if (call.messages.length > limits.maxMessagesPerCall)
        call.messages.splice(0, call.messages.length - limits.maxMessagesPerCall);
      call.summary = summarize(call.summary, message.at, facts);
      // Map order is insertion order: re-inserting keeps the calls ordered by last message.
      this.calls_.delete(message.callId);
      this.calls_.set(message.callId, call);
    }
    for (const [callId, call] of this.calls_) {
      if (call.summary.lastAt > now - limits.retentionMs && this.calls_.size <= limits.maxCalls) break;
      this.calls_.delete(callId);
    }
  }

  async calls(limit: number): Promise<CapturedCall[]> {
    return [...this.calls_.values()]
      .map((c) => c.summary)
      .reverse()
      .slice(0, limit);
  }

  async messages(callId: string): Promise<CapturedSipMessage[]> {
    return [...(this.calls_.get(callId)?.messages ?? [])].sort((a, b) => a.at - b.at);
  }

  clear(): void {
    this.calls_.clear();
  }
}

/** The in-memory twins of every store port, for standalone mode. */
export function createMemoryStores(): Stores {
  const parts = {
    records: new MemoryRecordStore(),
    locations: new MemoryLocationStore(),
    connections: new MemoryConnectionDirectory(),
    edges: new MemoryEdgeRegistry(),
    nonces: new MemoryNonceStore(),
    users: new MemoryUserTable(),
    dialogs: new MemoryDialogStore(),
    captures: new MemoryCaptureStore(),
    abuse: new MemoryAbuseStore(),
  };
  return {
    ...parts,
    async close() {
      for (const part of Object.values(parts)) part.clear();
    },
  };
}
