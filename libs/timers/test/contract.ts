import { afterEach, describe, expect, it } from 'vitest';
import { TimersUnavailableError, type TimerFire, type TimerHandler, type TimerService } from '../src/index.js';

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

/** Fires must come at or after `dueAt`, and at most this much later. */
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

const id = (fire: TimerFire) => `${fire.key}|${fire.timer}|${fire.generation}`;

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

    it('fires after its delay with key, timer, generation and dueAt', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      // Keys may hold any character, including the ':' and '/' of SIP transaction keys.
      const key = 'z9hG4bK-1:INVITE/sip:alice@example.com;x=%2F|1';
      const before = Date.now();
      await timers.schedule(key, 'A', 200, 7);
      const after = Date.now();

      await fires.waitFor(1);
      const [got] = fires.received;
      expect(got?.fire).toEqual({ key, timer: 'A', generation: 7, dueAt: expect.any(Number) });
      const dueAt = got?.fire.dueAt ?? 0;
      expect(dueAt).toBeGreaterThanOrEqual(before + 200);
      expect(dueAt).toBeLessThanOrEqual(after + 200);
      expect(got?.at).toBeGreaterThanOrEqual(dueAt);
      expect((got?.at ?? Infinity) - dueAt).toBeLessThan(MAX_LATENESS_MS);
    });

    it('fires several timers in due order, none early', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      const delays = [300, 100, 250, 150, 200];
      await Promise.all(delays.map((delay, i) => timers.schedule(`order-${i}`, 'E', delay, 1)));

      await fires.waitFor(delays.length);
      const byArrival = fires.received.map((r) => r.fire.key);
      expect(byArrival).toEqual(['order-1', 'order-3', 'order-4', 'order-2', 'order-0']);
      for (const { fire, at } of fires.received) {
        expect(at).toBeGreaterThanOrEqual(fire.dueAt);
        expect(at - fire.dueAt).toBeLessThan(MAX_LATENESS_MS);
      }
    });

    it('does not fire a cancelled timer; cancelling an unknown one is a no-op', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      await timers.schedule('tx-1', 'B', 150, 1);
      await timers.schedule('tx-2', 'B', 250, 1); // fires: shows the worker was running
      await timers.cancel('tx-1', 'B', 1);
      await timers.cancel('tx-1', 'B', 1);
      await timers.cancel('never-scheduled', 'F', 9);

      await fires.waitFor(1);
      await sleep(200);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-2|B|1']);
    });

    it('fires a timer scheduled twice once, at the first delay', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      const before = Date.now();
      await timers.schedule('tx-dup', 'K', 200, 4);
      await timers.schedule('tx-dup', 'K', 50, 4);
      await Promise.all([timers.schedule('tx-dup', 'K', 200, 4), timers.schedule('tx-dup', 'K', 200, 4)]);

      await fires.waitFor(1);
      await sleep(300);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-dup|K|4']);
      expect(fires.received[0]?.at).toBeGreaterThanOrEqual(before + 200);
    });

    it('treats generations as independent timers', async () => {
      const { timers } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      await timers.schedule('tx-gen', 'A', 150, 1);
      await timers.schedule('tx-gen', 'A', 200, 2);
      await timers.schedule('tx-gen', 'A', 250, 3);
      await timers.cancel('tx-gen', 'A', 2);

      await fires.waitFor(2);
      await sleep(200);
      expect(fires.received.map((r) => id(r.fire))).toEqual(['tx-gen|A|1', 'tx-gen|A|3']);
    });

    it("fires a timer through another instance's worker (any node fires any timer)", async () => {
      const { timers, other } = await start();
      const fires = collector();
      await timers.schedule('tx-elsewhere', 'D', 150, 2);
      await timers.schedule('tx-orphan', 'D', 250, 2);
      // The scheduling instance has no worker, and then goes away altogether.
      await timers.close();
      await other.startWorker(fires.record('other'));

      await fires.waitFor(2);
      expect(fires.received.map((r) => `${r.by}:${id(r.fire)}`)).toEqual([
        'other:tx-elsewhere|D|2',
        'other:tx-orphan|D|2',
      ]);
      for (const { fire, at } of fires.received) {
        expect(at - fire.dueAt).toBeLessThan(MAX_LATENESS_MS);
      }
    });

    it('fires each timer exactly once with two workers running', async () => {
      const { timers, other } = await start();
      const fires = collector();
      await timers.startWorker(fires.record('timers'));
      await other.startWorker(fires.record('other'));
      const count = 40;
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          (i % 2 === 0 ? timers : other).schedule(`tx-both-${i}`, 'J', 100 + (i % 5) * 50, 1),
        ),
      );

      await fires.waitFor(count);
      await sleep(300);
      const ids = fires.received.map((r) => id(r.fire)).sort();
      const expected = Array.from({ length: count }, (_, i) => `tx-both-${i}|J|1`).sort();
      expect(ids).toEqual(expected);
      for (const { fire, at } of fires.received) {
        expect(at).toBeGreaterThanOrEqual(fire.dueAt);
        expect(at - fire.dueAt).toBeLessThan(MAX_LATENESS_MS);
      }
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
      await timers.schedule('tx-flaky', 'G', 100, 5);

      const deadline = Date.now() + 5000;
      while (calls.length < 3 && Date.now() < deadline) {
        await sleep(20);
      }
      await sleep(300);
      expect(calls).toHaveLength(3);
      expect(new Set(calls.map((c) => JSON.stringify(c.fire))).size).toBe(1);
      expect(calls[0]?.fire).toMatchObject({ key: 'tx-flaky', timer: 'G', generation: 5 });
      // Retries come after a back-off, not at once.
      expect(calls[1]!.at).toBeGreaterThan(calls[0]!.at);
      expect(calls[2]!.at).toBeGreaterThan(calls[1]!.at);
    });

    it('rejects schedule and cancel after close with TimersUnavailableError', async () => {
      const { timers } = await start();
      await timers.close();
      await timers.close(); // idempotent
      await expect(timers.schedule('tx-closed', 'A', 100, 1)).rejects.toBeInstanceOf(TimersUnavailableError);
      await expect(timers.cancel('tx-closed', 'A', 1)).rejects.toBeInstanceOf(TimersUnavailableError);
    });

    it('rejects invalid arguments', async () => {
      const { timers } = await start();
      await expect(timers.schedule('tx', 'A', -1, 1)).rejects.toBeInstanceOf(RangeError);
      await expect(timers.schedule('tx', 'A', Number.NaN, 1)).rejects.toBeInstanceOf(RangeError);
      await expect(timers.schedule('tx', 'A', 100, 1.5)).rejects.toBeInstanceOf(RangeError);
      await expect(timers.schedule('', 'A', 100, 1)).rejects.toBeInstanceOf(TypeError);
      await expect(timers.cancel('tx', '', 1)).rejects.toBeInstanceOf(TypeError);
    });
  });
}
