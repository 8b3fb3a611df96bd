import { MemoryEdgeRegistry } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeDirectory } from '../src/edge-directory.js';

const logger = createLogger({ name: 'test', level: 'silent' });

describe('EdgeDirectory', () => {
  const directories: EdgeDirectory[] = [];
  afterEach(() => directories.splice(0).forEach((d) => d.stop()));

  async function started(registry: MemoryEdgeRegistry, refreshMs = 60_000): Promise<EdgeDirectory> {
    const directory = new EdgeDirectory(registry, logger, refreshMs);
    directories.push(directory);
    await directory.start();
    return directory;
  }

  it('takes an edge that started after its list was read as live at once (its first hand-off is answered on its flow)', async () => {
    const registry = new MemoryEdgeRegistry();
    await registry.heartbeat('old', 3000, Date.now());
    const directory = await started(registry);
    await registry.heartbeat('new', 3000, Date.now());
    expect(await directory.isLiveEdge('new')).toBe(true);
  });

  it('takes an edge whose heartbeat has stopped for gone from the next refresh on', async () => {
    const registry = new MemoryEdgeRegistry();
    await registry.heartbeat('gone', 3000, Date.now());
    const directory = await started(registry, 50);
    expect(await directory.isLiveEdge('gone')).toBe(true);
    await registry.remove('gone');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await directory.isLiveEdge('gone')).toBe(false);
    expect(await directory.isLiveEdge('never-seen')).toBe(false);
  });
});
