import { afterEach, describe, expect, it } from 'vitest';
import { TimersUnavailableError, type TimerFire, type TimerHandler, type TimerService } from '../index.js';

/**
 * The behaviour every {@link TimerService} adapter shares, run against the in-memory twin (unit
 * tests) and BullMQ on a real Redis (integration tests).
 *
 * `make` returns two instances on one backend: `timers`, and `other`, which stands for a second
 * process (for BullMQ, separate connections; for the twin, a second instance on the same hub).
 * Each call must give a fresh, empty backend (e.g. a new queue name). Both instances must retry a
 * failing handler at least 3 times in all, with a first back-off of 100 ms or less.
 */
export interface TimersContractSetup {
  timers: TimerService;
  other: TimerService;
  teardown(): Promise<void>;
}

/** Fires must come at or after their due time, and at most this much later. */
export const MAX_LATENESS_MS = 500;

interface Received {
  fire: TimerFire;
  at: number;
  by: string;
}

/** Collects fires; `waitFor(n)` resolves once n have arrived (or fails after `timeoutMs`). */
function collector() {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const record = (by: string): TimerHandler => {
    return async (fire) => {
      received.push({ fire, at: Date.now(), by });
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiter.resolve();
      }
    };
  };
  const waitFor = async (count: number, timeoutMs = 5000): Promise<void> => {
    if (received.length >= count) {
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => waiters.push({ count, resolve })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`expected ${count} fires within ${timeoutMs} ms, got ${received.length}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  };
  return { received, record, waitFor };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const id = (fire: TimerFire) => `${fire.key}|${fire.seq}`;

/** Expects each fire at or after its due time (by key|seq) and not much later. */
function expectOnTime(received: Received[], due: Map<string, number>): void {
  for (const { fire, at } of received) {
    const dueAt = due.get(id(fire)) ?? Number.NaN;
    expect(at, id(fire)).toBeGreaterThanOrEqual(dueAt);
    expect(at - dueAt, id(fire)).toBeLessThan(MAX_LATENESS_MS);
  }
}

export function timersContract(name: string, make: () => Promise<TimersContractSetup>): void {
  describe(`${name}: TimerService contract`, () => {
    let setup: TimersContractSetup | undefined;
    const start = async (): Promise<TimersContractSetup> => {
      setup = await make();
      return setup;
    };

    afterEach(async () => {
      await setup?.teardown();
      setup = undefined;
    });

    it('fires a deadline at its due time with its key and seq', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      // Keys may hold any character, including the ':' and '/' of SIP transaction keys.
      const key = 'z9hG4bK-1:INVITE/sip:alice@example.com;x=%2F|1';
      const dueAt = Date.now() + 200;
      await timers.add(key, 7, dueAt);

      await fires.waitFor(1);
      expect(fires.received.map((r) => r.fire)).toEqual([{ key, seq: 7 }]);
      expectOnTime(fires.received, new Map([[`${key}|7`, dueAt]]));
    });

    it('fires several deadlines in due order, none early', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      const now = Date.now();
      const due = new Map([300, 100, 250, 150, 200].map((delay, i) => [`order-${i}|1`, now + delay]));
      await Promise.all([...due].map(([k, at]) => timers.add(k.split('|')[0]!, 1, at)));

      await fires.waitFor(due.size);
      expect(fires.received.map((r) => r.fire.key)).toEqual(['order-1', 'order-3', 'order-4', 'order-2', 'order-0']);
      expectOnTime(fires.received, due);
    });

    it('does not fire a disarmed deadline; disarming an unknown one is a no-op', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      await timers.add('tx-1', 1, Date.now() + 150);
      await timers.add('tx-2', 1, Date.now() + 250); // fires: shows the worker was running
      await timers.disarm('tx-1', 1);
      await timers.disarm('tx-1', 1);
      await timers.disarm('never-added', 9);

      await fires.waitFor(1);
      await sleep(200);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-2|1']);
    });

    it('fires a deadline added twice once, at the first due time', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      const first = Date.now() + 200;
      await timers.add('tx-dup', 4, first);
      await timers.add('tx-dup', 4, Date.now() + 50);
      await Promise.all([timers.add('tx-dup', 4, first), timers.add('tx-dup', 4, first)]);

      await fires.waitFor(1);
      await sleep(300);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-dup|4']);
      expectOnTime(fires.received, new Map([['tx-dup|4', first]]));
    });

    it('moves a pending deadline earlier and later; an absent or fired one is not moved', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      const now = Date.now();
      await timers.add('tx-earlier', 1, now + 5000);
      await timers.add('tx-later', 1, now + 100);
      await timers.add('tx-marker', 1, now + 300);
      expect(await timers.move('tx-earlier', 1, now + 200)).toBe(true);
      expect(await timers.move('tx-later', 1, now + 400)).toBe(true);
      expect(await timers.move('tx-absent', 1, now + 100)).toBe(false);

      await fires.waitFor(3);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-earlier|1', 'tx-marker|1', 'tx-later|1']);
      expectOnTime(
        fires.received,
        new Map([
          ['tx-earlier|1', now + 200],
          ['tx-marker|1', now + 300],
          ['tx-later|1', now + 400],
        ]),
      );
      expect(await timers.move('tx-earlier', 1, Date.now() + 100)).toBe(false);
      await sleep(300);
      expect(fires.received).toHaveLength(3);
    });

    it('does not move a deadline while it is firing: the caller adds the next seq', async () => {
      const { timers } = await start();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const fired: string[] = [];
      await timers.startWorker(async (fire) => {
        fired.push(id(fire));
        if (fire.seq === 1) await held;
      });
      await timers.add('tx-busy', 1, Date.now() + 50);
      const deadline = Date.now() + 3000;
      while (fired.length === 0 && Date.now() < deadline) await sleep(10);
      expect(await timers.move('tx-busy', 1, Date.now() + 100)).toBe(false);
      await timers.add('tx-busy', 2, Date.now() + 100);
      release();
      while (fired.length < 2 && Date.now() < deadline) await sleep(10);
      await sleep(200);
      expect(fired).toEqual(['tx-busy|1', 'tx-busy|2']);
    });

    it("fires a deadline through another instance's worker (any node fires any deadline)", async () => {
      const { timers, other } = await start();
      const fires = collector();
      const due = new Map([
        ['tx-elsewhere|2', Date.now() + 150],
        ['tx-orphan|2', Date.now() + 250],
      ]);
      for (const [k, at] of due) await timers.add(k.split('|')[0]!, 2, at);
      // The arming instance has no worker, and then goes away altogether.
      await timers.close();
      await other.startWorker(fires.record('other'));

      await fires.waitFor(2);
      expect(fires.received.map((r) => `${r.by}:${id(r.fire)}`)).toEqual(['other:tx-elsewhere|2', 'other:tx-orphan|2']);
      expectOnTime(fires.received, due);
    });

    it('fires each deadline exactly once with two workers running', async () => {
      const { timers, other } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      await other.startWorker(fires.record('other'));
      const count = 40;
      const now = Date.now();
      const due = new Map(Array.from({ length: count }, (_, i) => [`tx-both-${i}|1`, now + 100 + (i % 5) * 50]));
      await Promise.all([...due].map(([k, at], i) => (i % 2 === 0 ? timers : other).add(k.split('|')[0]!, 1, at)));

      await fires.waitFor(count);
      await sleep(300);
      expect(fires.received.map((r) => id(r.fire)).sort()).toEqual([...due.keys()].sort());
      expectOnTime(fires.received, due);
    });

    it('retries a failing handler with the same fire', async () => {
      const { timers } = await start();
      const calls: { fire: TimerFire; at: number }[] = [];
      await timers.startWorker(async (fire) => {
        calls.push({ fire, at: Date.now() });
        if (calls.length < 3) {
          throw new Error(`handler failure ${calls.length}`);
        }
      });
      await timers.add('tx-flaky', 5, Date.now() + 100);

      const deadline = Date.now() + 5000;
      while (calls.length < 3 && Date.now() < deadline) {
        await sleep(20);
      }
      await sleep(300);
      expect(calls).toHaveLength(3);
      expect(calls.map((c) => c.fire)).toEqual(Array(3).fill({ key: 'tx-flaky', seq: 5 }));
      // Retries come after a back-off, not at once.
      expect(calls[1]!.at).toBeGreaterThan(calls[0]!.at);
      expect(calls[2]!.at).toBeGreaterThan(calls[1]!.at);
    });

    it('rejects add, move and disarm after close with TimersUnavailableError', async () => {
      const { timers } = await start();
      await timers.close();
      await timers.close(); // idempotent
      await expect(timers.add('tx-closed', 1, Date.now() + 100)).rejects.toBeInstanceOf(TimersUnavailableError);
      await expect(timers.move('tx-closed', 1, Date.now() + 100)).rejects.toBeInstanceOf(TimersUnavailableError);
      await expect(timers.disarm('tx-closed', 1)).rejects.toBeInstanceOf(TimersUnavailableError);
    });

    it('rejects invalid arguments', async () => {
      const { timers } = await start();
      await expect(timers.add('tx', 1, -1)).rejects.toBeInstanceOf(RangeError);
      await expect(timers.add('tx', 1, Number.NaN)).rejects.toBeInstanceOf(RangeError);
      await expect(timers.add('tx', 1.5, Date.now())).rejects.toBeInstanceOf(RangeError);
      await expect(timers.add('', 1, Date.now())).rejects.toBeInstanceOf(TypeError);
      await expect(timers.move('tx', -1, Date.now())).rejects.toBeInstanceOf(RangeError);
      await expect(timers.disarm('', 1)).rejects.toBeInstanceOf(TypeError);
    });
  });
}
