import { MemoryBus } from '@sipedge/bus';
import { SUBJECTS } from '@sipedge/handoff';
import { MemoryEdgeRegistry } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeDirectory } from '../src/edge-directory.js';

const logger = createLogger({ name: 'test', level: 'silent' });

describe('EdgeDirectory', () => {
  const directories: EdgeDirectory[] = [];
  afterEach(async () => {
    await Promise.all(directories.splice(0).map((d) => d.stop()));
  });

  async function started(registry: MemoryEdgeRegistry, refreshMs = 60_000, bus?: MemoryBus): Promise<EdgeDirectory> {
    const directory = new EdgeDirectory(registry, logger, refreshMs, bus);
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

  it('takes an edge that announced its departure for gone at once, though the list it read names it', async () => {
    const registry = new MemoryEdgeRegistry();
    const bus = new MemoryBus();
    await registry.heartbeat('leaving', 3000, Date.now());
    await registry.heartbeat('staying', 3000, Date.now());
    const directory = await started(registry, 60_000, bus);
    expect(await directory.isLiveEdge('leaving')).toBe(true);
    // As an edge stops: off the list, then the announcement, heard long before the next refresh
    // (a minute) and while the list read at start is fresh enough to be trusted without one.
    await registry.remove('leaving');
    await bus.publish(SUBJECTS.edgeGone, Buffer.from('leaving'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await directory.isLiveEdge('leaving')).toBe(false);
    expect(await directory.isLiveEdge('staying')).toBe(true);
    // Back with the same id (a restarted pod): a list read after the departure names it again.
    await registry.heartbeat('leaving', 3000, Date.now() + 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await directory.isLiveEdge('leaving')).toBe(true);
    await bus.close();
  });
});
