import { storeKeys } from './keys.js';
import type { NonceCheck, NonceStore } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

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
