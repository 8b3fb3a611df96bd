/**
 * The worker's side of call affinity (presence.ts): its own subject for the calls edges bind to
 * it, an announcement at start and every heartbeat, and its departure as it stops, after which
 * its subject reaches nobody (an edge then sends to the queue group).
 */
import { type BusMessage, MemoryBusHub } from '@sipedge/bus';
import { SUBJECTS, WORKER_LOAD, WORKER_PRESENCE, decodeWorkerLoad, isSubjectToken } from '@sipedge/handoff';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerPresence } from '../src/presence.js';

const logger = createLogger({ name: 'presence-test', level: 'silent' });
const WAIT = { timeout: 2000, interval: 5 };

describe('worker presence', () => {
  afterEach(() => vi.useRealTimers());

  it('takes messages on its own subject, announces itself at once and every heartbeat, and its departure', async () => {
    const hub = new MemoryBusHub();
    const edge = hub.connect({ logger });
    const alive: string[] = [];
    const gone: string[] = [];
    await edge.subscribe(SUBJECTS.workersAlive, (m) => void alive.push(Buffer.from(m.data).toString()));
    await edge.subscribe(SUBJECTS.workerGone, (m) => void gone.push(Buffer.from(m.data).toString()));
    const presence = new WorkerPresence(hub.connect({ logger }), logger);
    const taken: BusMessage[] = [];
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await presence.start((m) => void taken.push(m));
    expect(isSubjectToken(presence.instance)).toBe(true);
    await vi.waitFor(() => expect(alive).toEqual([presence.instance]), WAIT);
    vi.advanceTimersByTime(2 * WORKER_PRESENCE.heartbeatMs);
    await vi.waitFor(() => expect(alive).toHaveLength(3), WAIT);

    await edge.publish(SUBJECTS.workerInbound(presence.instance), Buffer.from('INVITE'));
    await vi.waitFor(() => expect(taken).toHaveLength(1), WAIT);

    await presence.stop();
    await vi.waitFor(() => expect(gone).toEqual([presence.instance]), WAIT);
    vi.advanceTimersByTime(2 * WORKER_PRESENCE.heartbeatMs);
    let unheard = 0;
    await edge.publish(SUBJECTS.workerInbound(presence.instance), Buffer.from('ACK'), undefined, {
      onUnheard: () => unheard++,
    });
    await vi.waitFor(() => expect(unheard).toBe(1), WAIT);
    expect(alive).toHaveLength(3);
    expect(taken).toHaveLength(1);
  });

  it('reports its backlog every report interval while it has one, once more when it is over, and nothing while idle', async () => {
    const hub = new MemoryBusHub();
    const edge = hub.connect({ logger });
    const reports: { instance: string; backlogMs: number }[] = [];
    await edge.subscribe(SUBJECTS.workersLoad, (m) => void reports.push(decodeWorkerLoad(m.data)!));
    let backlog = 0;
    const presence = new WorkerPresence(hub.connect({ logger }), logger, () => backlog);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await presence.start(() => undefined);
    vi.advanceTimersByTime(3 * WORKER_LOAD.reportMs);
    backlog = 180;
    vi.advanceTimersByTime(2 * WORKER_LOAD.reportMs);
    backlog = 0;
    vi.advanceTimersByTime(3 * WORKER_LOAD.reportMs);
    await vi.waitFor(() => expect(reports).toHaveLength(3), WAIT);
    expect(reports).toEqual([180, 180, 0].map((backlogMs) => ({ instance: presence.instance, backlogMs })));
    await presence.stop();
    backlog = 300;
    vi.advanceTimersByTime(3 * WORKER_LOAD.reportMs);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reports).toHaveLength(3);
  });

  it('is a new instance in every process (a restarted worker is a new member)', () => {
    const bus = new MemoryBusHub().connect({ logger });
    expect(new WorkerPresence(bus, logger).instance).not.toBe(new WorkerPresence(bus, logger).instance);
  });
});
