/**
 * Call affinity (worker-directory.ts, handoff.ts): the edge hands every message of a call to the
 * worker a rendezvous hash of its Call-ID picks among the workers it has heard, so that one worker
 * keeps the call's record; a worker that is gone (announced, silent, or reached by nobody) loses
 * its calls to the others, and a hand-off that reaches nobody goes to the queue group instead.
 */
import { type Bus, type BusMessage, MemoryBusHub } from '@sipedge/bus';
import {
  QUEUES,
  SUBJECTS,
  WORKER_LOAD,
  WORKER_PRESENCE,
  decodeInbound,
  encodeWorkerLoad,
  type InboundMeta,
} from '@sipedge/handoff';
import { parseMessage } from '@sipedge/sip';
import { createLogger } from '@sipedge/telemetry';
import { describe, expect, it, vi } from 'vitest';
import { Handoff } from '../src/handoff.js';
import { WorkerDirectory } from '../src/worker-directory.js';

const logger = createLogger({ name: 'affinity-test', level: 'silent' });
const WAIT = { timeout: 2000, interval: 5 };

const callIds = (count: number) =>
  Array.from({ length: count }, (_, i) => `${(i * 7919).toString(36)}-${i}@host.example`);

describe('the worker directory', () => {
  it('knows no worker at first, then the only one for every call', () => {
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger);
    expect(directory.pick('a@b')).toBeUndefined();
    directory.heard('w1');
    expect(directory.pick('a@b')).toBe('w1');
    expect(directory.pick('c@d')).toBe('w1');
  });

  it('spreads calls evenly over the workers, and picks the same worker for a call every time', () => {
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger);
    for (const w of ['worker-a', 'worker-b', 'worker-c']) directory.heard(w);
    const counts = new Map<string, number>();
    for (const callId of callIds(9000)) {
      const worker = directory.pick(callId)!;
      expect(directory.pick(callId)).toBe(worker);
      counts.set(worker, (counts.get(worker) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['worker-a', 'worker-b', 'worker-c']);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(2700);
      expect(count).toBeLessThan(3300);
    }
  });

  it('moves only the calls of a worker that leaves, and spreads them over the others', () => {
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger);
    for (const w of ['w1', 'w2', 'w3', 'w4']) directory.heard(w);
    const before = new Map(callIds(4000).map((id) => [id, directory.pick(id)!]));
    directory.gone('w2');
    const moved = new Map<string, number>();
    for (const [id, worker] of before) {
      const now = directory.pick(id)!;
      if (worker === 'w2') moved.set(now, (moved.get(now) ?? 0) + 1);
      else expect(now).toBe(worker);
    }
    expect([...moved.keys()].sort()).toEqual(['w1', 'w3', 'w4']);
    // A worker that comes back gets its calls back.
    directory.heard('w2');
    for (const [id, worker] of before) expect(directory.pick(id)).toBe(worker);
  });

  it('forgets a worker not heard for the expiry, and keeps one heard since', () => {
    let now = 1_000_000;
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger, () => now);
    directory.heard('quiet');
    directory.heard('chatty');
    now += WORKER_PRESENCE.expiresMs - 1;
    directory.heard('chatty');
    directory.sweep();
    expect(directory.workers).toEqual(['chatty', 'quiet']);
    now += 2;
    directory.sweep();
    expect(directory.workers).toEqual(['chatty']);
  });

  it('hears announcements, load reports and departures on the bus, and ignores an announcement that is not an id', async () => {
    const hub = new MemoryBusHub();
    const directory = new WorkerDirectory(hub.connect({ logger }), logger);
    await directory.start();
    try {
      const worker = hub.connect({ logger });
      await worker.publish(SUBJECTS.workersAlive, Buffer.from('w-1'));
      await worker.publish(SUBJECTS.workersAlive, Buffer.from('w.2 *'));
      await worker.publish(SUBJECTS.workersAlive, Buffer.from('w_3'));
      await vi.waitFor(() => expect(directory.workers).toEqual(['w-1', 'w_3']), WAIT);
      await worker.publish(SUBJECTS.workersLoad, encodeWorkerLoad('w-1', 240));
      await vi.waitFor(() => expect(directory.backlogMs('w-1')).toBe(240), WAIT);
      await worker.publish(SUBJECTS.workerGone, Buffer.from('w-1'));
      await vi.waitFor(() => expect(directory.workers).toEqual(['w_3']), WAIT);
    } finally {
      await directory.stop();
    }
  });
});

describe('the worker directory and load reports (overload control)', () => {
  it('keeps the backlog a worker reports until it reports 0, goes, or is silent for the expiry', () => {
    let now = 1_000_000;
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger, () => now);
    directory.heard('busy');
    directory.heard('idle');
    expect(directory.backlogMs('busy')).toBe(0);
    expect(directory.backlogMs(undefined)).toBe(0);

    directory.loadReported(encodeWorkerLoad('busy', 180.4));
    expect(directory.backlogMs('busy')).toBe(180);
    expect(directory.backlogMs('idle')).toBe(0);
    directory.loadReported(encodeWorkerLoad('busy', 0));
    expect(directory.backlogMs('busy')).toBe(0);

    directory.loadReported(encodeWorkerLoad('busy', 250));
    now += WORKER_LOAD.expiresMs;
    expect(directory.backlogMs('busy')).toBe(250);
    now += 1;
    expect(directory.backlogMs('busy')).toBe(0);

    directory.loadReported(encodeWorkerLoad('busy', 300));
    directory.gone('busy');
    directory.heard('busy');
    expect(directory.backlogMs('busy')).toBe(0);
  });

  it('ignores reports of workers it has not heard, and payloads that are not reports', () => {
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger);
    directory.heard('w1');
    directory.loadReported(encodeWorkerLoad('stranger', 500));
    directory.loadReported(Buffer.from('w1 lots'));
    directory.loadReported(Buffer.from('w.1 300'));
    directory.loadReported(Buffer.from('w1 -300'));
    expect(directory.backlogMs('stranger')).toBe(0);
    expect(directory.backlogMs('w1')).toBe(0);
    expect(directory.backlogOfCall('a@b')).toBe(0);
    // The call's worker (the only one) reports: its calls have its backlog.
    directory.loadReported(encodeWorkerLoad('w1', 120));
    expect(directory.backlogOfCall('a@b')).toBe(120);
  });
});

describe('new calls their saturated worker would refuse, placed on a worker with room', () => {
  /** Three workers, the calls of each in `own`, and a counter of the calls placed elsewhere. */
  function fleet() {
    let now = 1_000_000;
    let elsewhere = 0;
    const directory = new WorkerDirectory(
      { subscribe: vi.fn() },
      logger,
      () => now,
      () => (elsewhere += 1),
    );
    for (const w of ['w1', 'w2', 'w3']) directory.heard(w);
    const own = new Map<string, string[]>();
    for (const id of callIds(300)) own.set(directory.pick(id)!, [...(own.get(directory.pick(id)!) ?? []), id]);
    return { directory, own, elsewhere: () => elsewhere, later: (ms: number) => (now += ms) };
  }

  it("places each on the next worker of the call's order that has room, and the call's later messages follow", () => {
    const { directory, own, elsewhere } = fleet();
    directory.loadReported(encodeWorkerLoad('w1', 250));
    const calls = own.get('w1')!.slice(0, 60);
    const placed = new Map<string, string>();
    for (const id of calls) {
      expect(directory.backlogOfCall(id)).toBe(250);
      expect(directory.placeElsewhere(id)).toBe(true);
      placed.set(id, directory.pick(id)!);
      expect(directory.backlogOfCall(id)).toBe(0);
    }
    expect(elsewhere()).toBe(60);
    // Spread over both others, each call on one worker whatever comes next.
    expect(new Set(placed.values())).toEqual(new Set(['w2', 'w3']));
    directory.loadReported(encodeWorkerLoad('w1', 0));
    for (const [id, worker] of placed) expect(directory.pick(id)).toBe(worker);
    // Calls not placed stay with their own worker.
    for (const id of own.get('w1')!.slice(60)) expect(directory.pick(id)).toBe('w1');
  });

  it('skips a worker that reports a backlog too, and places nothing when every worker reports one', () => {
    const { directory, own, elsewhere } = fleet();
    directory.loadReported(encodeWorkerLoad('w1', 250));
    directory.loadReported(encodeWorkerLoad('w2', 80));
    for (const id of own.get('w1')!) {
      expect(directory.placeElsewhere(id)).toBe(true);
      expect(directory.pick(id)).toBe('w3');
    }
    directory.loadReported(encodeWorkerLoad('w3', 150));
    const [id] = own.get('w2')!;
    expect(directory.placeElsewhere(id!)).toBe(false);
    expect(directory.pick(id!)).toBe('w2');
    expect(elsewhere()).toBe(own.get('w1')!.length);
  });

  it('sends a placed call to its own worker again when the worker it was placed on goes', () => {
    const { directory, own } = fleet();
    directory.loadReported(encodeWorkerLoad('w1', 250));
    directory.loadReported(encodeWorkerLoad('w2', 250));
    const id = own.get('w1')![0]!;
    expect(directory.placeElsewhere(id)).toBe(true);
    expect(directory.pick(id)).toBe('w3');
    directory.gone('w3');
    expect(directory.pick(id)).toBe('w1');
    expect(directory.placeElsewhere(own.get('w1')![1]!)).toBe(false);
  });

  it(`takes a worker for one with room only once it has reported no backlog for ${WORKER_LOAD.calmMs} ms`, () => {
    const { directory, own, later } = fleet();
    directory.loadReported(encodeWorkerLoad('w2', 250));
    directory.loadReported(encodeWorkerLoad('w3', 250));
    // Over, and soon silent: near their limit still, so the two would take turns at overload.
    directory.loadReported(encodeWorkerLoad('w2', 0));
    later(WORKER_LOAD.expiresMs + 1);
    directory.loadReported(encodeWorkerLoad('w1', 250));
    const [first, second] = own.get('w1')!;
    expect(directory.backlogOfCall(first!)).toBe(250);
    expect(directory.placeElsewhere(first!)).toBe(false);
    expect(directory.pick(first!)).toBe('w1');
    later(WORKER_LOAD.calmMs - WORKER_LOAD.expiresMs);
    directory.loadReported(encodeWorkerLoad('w1', 250));
    expect(directory.placeElsewhere(second!)).toBe(true);
    expect(['w2', 'w3']).toContain(directory.pick(second!));
  });
});

describe('the hand-off with call affinity', () => {
  const UDP: InboundMeta = {
    transport: 'udp',
    source: { address: '192.0.2.1', port: 5060 },
    local: { address: '127.0.0.1', port: 5060 },
    edgeId: 'e1',
    receivedAt: 1,
  };
  const TCP: InboundMeta = { ...UDP, transport: 'tcp', flowId: 'f1' };
  const message = (callId: string, method = 'INVITE') =>
    parseMessage(Buffer.from(`${method} sip:x SIP/2.0\r\nCall-ID: ${callId}\r\n\r\n`), { validate: false });

  interface FakeWorker {
    bus: Bus;
    own: BusMessage[];
    group: BusMessage[];
    leave(): Promise<void>;
  }

  let hub: MemoryBusHub;

  /** A worker on the hub: its own subject, the queue group, both acknowledging. */
  async function worker(instance: string): Promise<FakeWorker> {
    const bus = hub.connect({ logger });
    const own: BusMessage[] = [];
    const group: BusMessage[] = [];
    const ack = { data: new Uint8Array(0) };
    const mine = await bus.subscribe(SUBJECTS.workerInbound(instance), (m) => (own.push(m), ack));
    await bus.subscribe(SUBJECTS.inbound, (m) => (group.push(m), ack), { queue: QUEUES.workers });
    return { bus, own, group, leave: () => mine.unsubscribe() };
  }

  async function edge(instances: string[], attempts = 2) {
    const directory = new WorkerDirectory({ subscribe: vi.fn() }, logger);
    for (const instance of instances) directory.heard(instance);
    let rerouted = 0;
    const handoff = new Handoff(hub.connect({ logger }), { ackTimeoutMs: 50, attempts }, logger, directory, () => {
      rerouted += 1;
    });
    return { directory, handoff, rerouted: () => rerouted };
  }

  /** Workers `live` and `dead`, an edge that knows both, and a call bound to `dead`, which has left unannounced. */
  async function callOfGoneWorker(attempts?: number) {
    hub = new MemoryBusHub();
    const live = await worker('live');
    const dead = await worker('dead');
    const side = await edge(['live', 'dead'], attempts);
    const callId = callIds(100).find((id) => side.directory.pick(id) === 'dead')!;
    await dead.leave();
    return { ...side, live, dead, callId };
  }

  it('sends every message of a call to one worker, and different calls to both', async () => {
    hub = new MemoryBusHub();
    const workers = [await worker('wa'), await worker('wb')];
    const { handoff } = await edge(['wa', 'wb']);
    const calls = callIds(40);
    for (const callId of calls) {
      for (const method of ['INVITE', 'ACK', 'BYE']) await handoff.forward(message(callId, method), UDP);
      await handoff.forward(message(callId, 'CANCEL'), TCP);
    }
    await vi.waitFor(() => expect(workers[0]!.own.length + workers[1]!.own.length).toBe(160), WAIT);
    const holders = new Map<string, Set<number>>();
    workers.forEach((w, index) => {
      expect(w.group).toEqual([]);
      for (const m of w.own) {
        const callId = /Call-ID: (\S+)/.exec(Buffer.from(m.data).toString())![1]!;
        holders.set(callId, (holders.get(callId) ?? new Set()).add(index));
      }
    });
    for (const callId of calls) expect(holders.get(callId)?.size).toBe(1);
    expect(workers[0]!.own.length).toBeGreaterThan(0);
    expect(workers[1]!.own.length).toBeGreaterThan(0);
  });

  it('over UDP, sends a message its worker did not hear to the queue group, and forgets the worker', async () => {
    const { live, dead, directory, handoff, rerouted, callId } = await callOfGoneWorker();
    await handoff.forward(message(callId), UDP);
    await vi.waitFor(() => expect(live.group.length + dead.group.length).toBe(1), WAIT);
    expect(decodeInbound([...live.group, ...dead.group][0]!.headers).redelivered).toBeUndefined();
    expect(directory.workers).toEqual(['live']);
    expect(rerouted()).toBe(1);
    await handoff.forward(message(callId, 'ACK'), UDP);
    await vi.waitFor(() => expect(live.own).toHaveLength(1), WAIT);
  });

  it('over TCP, sends a request nobody took to the queue group at once, as the same attempt', async () => {
    const { live, dead, directory, handoff, rerouted, callId } = await callOfGoneWorker(1);
    expect(await handoff.forward(message(callId), TCP)).toBe(true);
    const taken = [...live.group, ...dead.group];
    expect(taken).toHaveLength(1);
    expect(decodeInbound(taken[0]!.headers).redelivered).toBeUndefined();
    expect(directory.workers).toEqual(['live']);
    expect(rerouted()).toBe(1);
    expect(await handoff.forward(message(callId), TCP)).toBe(true);
    expect(live.own).toHaveLength(1);
  });

  it('over TCP, sends a request its worker did not confirm in time to the queue group, marked redelivered', async () => {
    hub = new MemoryBusHub();
    const bus = hub.connect({ logger });
    const group: BusMessage[] = [];
    await bus.subscribe(SUBJECTS.workerInbound('stuck'), () => new Promise<never>(() => undefined));
    await bus.subscribe(SUBJECTS.inbound, (m) => (group.push(m), { data: new Uint8Array(0) }), {
      queue: QUEUES.workers,
    });
    const { directory, handoff } = await edge(['stuck']);
    expect(await handoff.forward(message('c@h'), TCP)).toBe(true);
    expect(group.map((m) => decodeInbound(m.headers).redelivered)).toEqual([true]);
    expect(directory.workers).toEqual(['stuck']);
  });

  it('hands a call placed on another worker (its own saturated) to that worker, every message of it', async () => {
    hub = new MemoryBusHub();
    const busy = await worker('busy');
    const roomy = await worker('roomy');
    const { directory, handoff } = await edge(['busy', 'roomy']);
    const callId = callIds(100).find((id) => directory.pick(id) === 'busy')!;
    directory.loadReported(encodeWorkerLoad('busy', 300));
    expect(directory.placeElsewhere(callId)).toBe(true);
    for (const method of ['INVITE', 'ACK', 'BYE']) await handoff.forward(message(callId, method), UDP);
    await vi.waitFor(() => expect(roomy.own).toHaveLength(3), WAIT);
    expect(busy.own).toEqual([]);
  });

  it('uses the queue group while it knows no worker', async () => {
    hub = new MemoryBusHub();
    const w = await worker('unannounced');
    const { handoff } = await edge([]);
    await handoff.forward(message('c@h'), UDP);
    expect(await handoff.forward(message('c@h'), TCP)).toBe(true);
    await vi.waitFor(() => expect(w.group).toHaveLength(2), WAIT);
    expect(w.own).toEqual([]);
  });
});
