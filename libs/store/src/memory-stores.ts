import { MemoryAbuseStore } from './memory-abuse.js';
import { MemoryCaptureStore } from './memory-captures.js';
import { MemoryConnectionDirectory } from './memory-connections.js';
import { MemoryDialogStore } from './memory-dialogs.js';
import { MemoryEdgeRegistry } from './memory-edges.js';
import { MemoryLocationStore } from './memory-location.js';
import { MemoryNonceStore } from './memory-nonces.js';
import { MemoryRecordStore } from './memory-records.js';
import { MemoryUserTable } from './memory-users.js';
import type { Stores } from './stores.js';

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
