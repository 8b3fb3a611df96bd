import type { UserTable } from './ports.js';

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
