import type { ConnectionDirectory } from './ports.js';
import { ExpiringMap } from './expiring-map.js';

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
