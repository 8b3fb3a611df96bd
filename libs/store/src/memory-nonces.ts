import type { NonceCheck, NonceStore } from './ports.js';
import { ExpiringMap } from './expiring-map.js';

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
