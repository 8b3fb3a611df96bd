import { storeKeys } from './keys.js';
import type { ConnectionDirectory } from './ports.js';
import { type RedisClient, guarded, loadScript } from './redis-client.js';

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
