import type { EdgeRegistry } from './ports.js';

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
