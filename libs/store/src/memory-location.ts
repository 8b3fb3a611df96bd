import type { Binding, LocationStore, RegisterOp, RegisterResult } from './ports.js';
import type { RegistrationList, RegistrationQuery } from './ports.js';
import { ExpiringMap } from './expiring-map.js';
import { bindingOf, isOutOfOrder } from './register-rules.js';

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
