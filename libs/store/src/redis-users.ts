import { storeKeys } from './keys.js';
import type { UserTable } from './ports.js';
import { type RedisClient, guarded } from './redis-client.js';

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
