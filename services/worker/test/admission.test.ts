import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../src/admission.js';

/** A task that ends when its `finish` is called. */
function gated() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { done, finish };
}

describe('AdmissionQueue', () => {
  it('runs at most `concurrency` tasks at once, the others in arrival order', async () => {
    const queue = new AdmissionQueue(2, 10);
    const started: number[] = [];
    const gates = [gated(), gated(), gated(), gated()];
    const runs = gates.map((g, i) =>
      queue.run(
        async () => {
          started.push(i);
          await g.done;
          return i;
        },
        () => -1,
      ),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(queue.waiting).toBe(2);
    gates[1]!.finish();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.finish();
    gates[2]!.finish();
    gates[3]!.finish();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(queue.waiting).toBe(0);
  });

  it('refuses at once when `maxWaiting` tasks already wait, and frees its place after a failure', async () => {
    const queue = new AdmissionQueue(1, 1);
    const gate = gated();
    const first = queue.run(
      () => gate.done.then(() => 'first'),
      () => 'refused',
    );
    const second = queue.run(
      async () => 'second',
      () => 'refused',
    );
    expect(
      await queue.run(
        async () => 'third',
        () => 'refused',
      ),
    ).toBe('refused');
    gate.finish();
    expect([await first, await second]).toEqual(['first', 'second']);
    await expect(
      queue.run(
        () => Promise.reject(new Error('boom')),
        () => 'refused',
      ),
    ).rejects.toThrow('boom');
    expect(
      await queue.run(
        async () => 'after',
        () => 'refused',
      ),
    ).toBe('after');
  });
});
