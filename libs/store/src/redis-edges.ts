import { storeKeys } from './keys.js';
import type { EdgeRegistry } from './ports.js';
import { type RedisClient, guarded } from './redis-client.js';

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
