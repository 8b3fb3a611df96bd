import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BusNoRespondersError,
  BusRemoteError,
  BusTimeoutError,
  BusUnavailableError,
  type Bus,
  type BusMessage,
} from '../index.js';

/**
 * The behaviour every Bus adapter shares, run against the in-memory twin (unit tests) and against
 * a real NATS server (integration tests). `make` returns two independent clients of the same bus
 * (say an edge and a worker) and cleans them up in `teardown`.
 */
export interface BusPair {
  bus: Bus;
  other: Bus;
  teardown(): Promise<void>;
}

/**
 * Optional outage simulation: `disconnect` makes `pair.bus` lose its server (it may take `other`
 * down too, as stopping a NATS server does); `reconnect` brings it back. The contract then checks
 * that operations fail at once with BusUnavailableError and that everything works again after.
 */
export interface BusOutage {
  disconnect(pair: BusPair): Promise<void>;
  reconnect(pair: BusPair): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string): Uint8Array => encoder.encode(value);
const str = (data: Uint8Array): string => decoder.decode(data);
const WAIT = { timeout: 5000, interval: 5 };

/** How long to wait to be reasonably sure that something does NOT arrive. */
const QUIET_MS = 150;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function elapsed<T>(operation: () => Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([operation()]);
  return { ms: performance.now() - start, result: result as PromiseSettledResult<T> };
}

function rejection(result: PromiseSettledResult<unknown>): unknown {
  expect(result.status).toBe('rejected');
  return (result as PromiseRejectedResult).reason;
}

export function busContract(name: string, make: () => Promise<BusPair>, outage?: BusOutage): void {
  describe(`${name}: Bus contract`, () => {
    let pair: BusPair;
    let bus: Bus;
    let other: Bus;
    let prefix: string;
    /** A subject unique to this test, so that tests never see each other's messages. */
    const subject = (suffix: string): string => `${prefix}.${suffix}`;

    beforeEach(async () => {
      pair = await make();
      ({ bus, other } = pair);
      prefix = `contract.${randomUUID().replaceAll('-', '')}`;
    });

    afterEach(async () => {
      await pair.teardown();
    });

    describe('publish/subscribe', () => {
      it('delivers to subscribers on both clients, with data and headers', async () => {
        const mine: BusMessage[] = [];
        const theirs: BusMessage[] = [];
        await bus.subscribe(subject('events'), (m) => void mine.push(m));
        await other.subscribe(subject('events'), (m) => void theirs.push(m));
        expect(bus.connected).toBe(true);
        expect(other.connected).toBe(true);

        await bus.publish(subject('events'), text('hello'), { 'x-call-id': 'abc@host', traceparent: TRACEPARENT });

        await vi.waitFor(() => expect(mine.length + theirs.length).toBe(2), WAIT);
        for (const message of [mine[0], theirs[0]]) {
          expect(message?.subject).toBe(subject('events'));
          expect(str(message!.data)).toBe('hello');
          expect(message?.headers).toEqual({ 'x-call-id': 'abc@host', traceparent: TRACEPARENT });
          expect(message?.replyTo).toBeUndefined();
        }
      });

      it('matches the * and > wildcards as NATS does', async () => {
        const one: string[] = [];
        const rest: string[] = [];
        await other.subscribe(subject('edge.*.out'), (m) => void one.push(m.subject));
        await other.subscribe(subject('edge.>'), (m) => void rest.push(m.subject));

        for (const suffix of ['edge.a.out', 'edge.b.out', 'edge.a.in', 'edge.a.out.x', 'edge']) {
          await bus.publish(subject(suffix), text(suffix));
        }

        await vi.waitFor(() => expect(rest).toHaveLength(4), WAIT);
        await sleep(QUIET_MS);
        expect(one.sort()).toEqual([subject('edge.a.out'), subject('edge.b.out')]);
        expect(rest.sort()).toEqual(
          ['edge.a.in', 'edge.a.out', 'edge.a.out.x', 'edge.b.out'].map((suffix) => subject(suffix)),
        );
      });

      it('calls onUnheard when no subscriber had the message, once', async () => {
        let unheard = 0;
        await bus.publish(subject('nobody'), text('x'), { 'x-a': '1' }, { onUnheard: () => unheard++ });
        await vi.waitFor(() => expect(unheard).toBe(1), WAIT);
        await sleep(QUIET_MS);
        expect(unheard).toBe(1);
      });

      it('does not call onUnheard when a subscriber or a queue group member had it; replies to it go nowhere', async () => {
        const received: BusMessage[] = [];
        await other.subscribe(subject('one'), (m) => {
          received.push(m);
          return { data: text('dropped') };
        });
        await other.subscribe(subject('group'), (m) => void received.push(m), { queue: 'q' });
        let unheard = 0;
        await bus.publish(subject('one'), text('a'), undefined, { onUnheard: () => unheard++ });
        await bus.publish(subject('group'), text('b'), undefined, { onUnheard: () => unheard++ });
        await vi.waitFor(() => expect(received).toHaveLength(2), WAIT);
        await sleep(QUIET_MS);
        expect(unheard).toBe(0);
        expect(received.map((m) => str(m.data))).toEqual(['a', 'b']);
        for (const message of received) expect(message.replyTo).toEqual(expect.any(String));
      });

      it('calls onUnheard once the only subscriber has unsubscribed', async () => {
        const subscription = await other.subscribe(subject('leaving'), () => undefined);
        await subscription.unsubscribe();
        let unheard = 0;
        await bus.publish(subject('leaving'), text('x'), undefined, { onUnheard: () => unheard++ });
        await vi.waitFor(() => expect(unheard).toBe(1), WAIT);
      });

      it('sends no headers as an empty record', async () => {
        const received: BusMessage[] = [];
        await other.subscribe(subject('plain'), (m) => void received.push(m));
        await bus.publish(subject('plain'), text('x'));
        await vi.waitFor(() => expect(received).toHaveLength(1), WAIT);
        expect(received[0]?.headers).toEqual({});
      });

      it('preserves the order of one publisher to one subscriber', async () => {
        const received: number[] = [];
        await other.subscribe(subject('ordered'), (m) => void received.push(Number(str(m.data))));
        const count = 500;
        for (let i = 0; i < count; i++) {
          await bus.publish(subject('ordered'), text(String(i)));
        }
        await vi.waitFor(() => expect(received).toHaveLength(count), WAIT);
        expect(received).toEqual(Array.from({ length: count }, (_, i) => i));
      });

      it("keeps the publisher's order across publishes, requests and a handler's reply", async () => {
        const received: string[] = [];
        await other.subscribe(subject('mixed'), (m) => {
          received.push(str(m.data));
          return m.replyTo === undefined ? undefined : { data: text('ok') };
        });
        // A handler that publishes, then replies: the reply must not overtake its publish.
        await bus.subscribe(subject('relay'), async (m) => {
          await bus.publish(subject('mixed'), text(`relayed ${str(m.data)}`));
          return { data: text('done') };
        });
        void bus.publish(subject('mixed'), text('first'));
        void bus.publish(subject('mixed'), text('second'));
        const asked = bus.request(subject('mixed'), text('third'), { timeoutMs: 5000 });
        void bus.publish(subject('mixed'), text('fourth'));
        await asked;
        await vi.waitFor(() => expect(received).toHaveLength(4), WAIT);
        expect(received).toEqual(['first', 'second', 'third', 'fourth']);
        // The relayed message and the reply reach `other` in the order they were sent.
        await other.request(subject('relay'), text('fifth'), { timeoutMs: 5000 });
        expect(received).toEqual(['first', 'second', 'third', 'fourth', 'relayed fifth']);
      });

      it('delivers what is published from separate callbacks of one turn, in order', async () => {
        const received: number[] = [];
        await other.subscribe(subject('callbacks'), (m) => void received.push(Number(str(m.data))));
        const count = 50;
        await new Promise<void>((resolve) => {
          for (let i = 0; i < count; i++) {
            setImmediate(() => {
              void bus.publish(subject('callbacks'), text(String(i)));
              if (i === count - 1) resolve();
            });
          }
        });
        await vi.waitFor(() => expect(received).toHaveLength(count), WAIT);
        expect(received).toEqual(Array.from({ length: count }, (_, i) => i));
      });

      it('delivers binary data byte-exact, including empty payloads', async () => {
        const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        const large = new Uint8Array(randomBytes(64 * 1024));
        // A view into the middle of a bigger buffer: only the view's bytes are sent.
        const backing = new Uint8Array(randomBytes(100));
        const view = backing.subarray(10, 30);
        const payloads = [allBytes, text('\r\nPUB x 1\r\n\0'), large, new Uint8Array(0), view];
        const received: Uint8Array[] = [];
        await other.subscribe(subject('binary'), (m) => void received.push(Uint8Array.from(m.data)));

        for (const payload of payloads) {
          await bus.publish(subject('binary'), payload);
        }

        await vi.waitFor(() => expect(received).toHaveLength(payloads.length), WAIT);
        received.forEach((data, i) => expect(Buffer.from(data).equals(Buffer.from(payloads[i]!))).toBe(true));
        expect(received[4]).toHaveLength(20);
      });
    });

    describe('queue groups', () => {
      it('gives each message to exactly one group member; plain subscribers get all', async () => {
        const first: number[] = [];
        const second: number[] = [];
        const plain: number[] = [];
        await bus.subscribe(subject('work'), (m) => void first.push(Number(str(m.data))), { queue: 'workers' });
        await other.subscribe(subject('work'), (m) => void second.push(Number(str(m.data))), { queue: 'workers' });
        await other.subscribe(subject('work'), (m) => void plain.push(Number(str(m.data))));

        const count = 60;
        for (let i = 0; i < count; i++) {
          await bus.publish(subject('work'), text(String(i)));
        }

        const all = Array.from({ length: count }, (_, i) => i);
        await vi.waitFor(() => expect(plain).toHaveLength(count), WAIT);
        await vi.waitFor(() => expect(first.length + second.length).toBe(count), WAIT);
        await sleep(QUIET_MS);
        expect(first.length + second.length).toBe(count);
        expect([...first, ...second].sort((a, b) => a - b)).toEqual(all);
        expect(plain).toEqual(all);
        // Spread over both members (NATS picks at random: all 60 to one member is ~1e-18).
        expect(first.length).toBeGreaterThan(0);
        expect(second.length).toBeGreaterThan(0);
      });

      it('treats the same queue name on different subjects as different groups', async () => {
        const a: string[] = [];
        const b: string[] = [];
        await other.subscribe(subject('x'), (m) => void a.push(str(m.data)), { queue: 'workers' });
        await other.subscribe(subject('y'), (m) => void b.push(str(m.data)), { queue: 'workers' });
        await bus.publish(subject('x'), text('to-x'));
        await bus.publish(subject('y'), text('to-y'));
        await vi.waitFor(() => expect([...a, ...b]).toHaveLength(2), WAIT);
        expect(a).toEqual(['to-x']);
        expect(b).toEqual(['to-y']);
      });
    });

    describe('request/reply', () => {
      it('carries data and headers both ways, trace context included', async () => {
        const seen: BusMessage[] = [];
        await other.subscribe(subject('echo'), async (m) => {
          seen.push(m);
          return {
            data: text(`echo:${str(m.data)}`),
            headers: {
              traceparent: m.headers.traceparent ?? '',
              tracestate: m.headers.tracestate ?? '',
              'x-from': 'worker',
            },
          };
        });

        const reply = await bus.request(subject('echo'), text('ping'), {
          timeoutMs: 5000,
          headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'X-Mixed-Case': 'kept' },
        });

        expect(str(reply.data)).toBe('echo:ping');
        expect(reply.headers).toEqual({ traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-from': 'worker' });
        expect(seen).toHaveLength(1);
        expect(seen[0]?.headers).toEqual({ traceparent: TRACEPARENT, tracestate: TRACESTATE, 'X-Mixed-Case': 'kept' });
        expect(seen[0]?.replyTo).toEqual(expect.any(String));
        expect(str(seen[0]!.data)).toBe('ping');
      });

      it('answers concurrent requests each with its own reply', async () => {
        await other.subscribe(subject('double'), async (m) => {
          const n = Number(str(m.data));
          await sleep(n % 3);
          return { data: text(String(n * 2)) };
        });
        const replies = await Promise.all(
          Array.from({ length: 50 }, (_, i) => bus.request(subject('double'), text(String(i)), { timeoutMs: 5000 })),
        );
        expect(replies.map((r) => Number(str(r.data)))).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
      });

      it('lets a handler reply later by publishing to replyTo', async () => {
        await other.subscribe(subject('deferred'), (m) => {
          setTimeout(() => void other.publish(m.replyTo!, text('later'), { 'x-late': 'yes' }), 20);
        });
        const reply = await bus.request(subject('deferred'), text('?'), { timeoutMs: 5000 });
        expect(str(reply.data)).toBe('later');
        expect(reply.headers).toEqual({ 'x-late': 'yes' });
      });

      it('fails with BusTimeoutError when no reply comes in time', async () => {
        let asked = 0;
        await other.subscribe(subject('silent'), () => {
          asked += 1; // returns nothing: no reply
        });
        const { ms, result } = await elapsed(() => bus.request(subject('silent'), text('?'), { timeoutMs: 200 }));
        expect(rejection(result)).toBeInstanceOf(BusTimeoutError);
        expect(ms).toBeGreaterThanOrEqual(180);
        expect(ms).toBeLessThan(2000);
        expect(asked).toBe(1);
      });

      it('fails with BusNoRespondersError at once when nobody subscribes', async () => {
        const { ms, result } = await elapsed(() => bus.request(subject('nobody'), text('?'), { timeoutMs: 5000 }));
        expect(rejection(result)).toBeInstanceOf(BusNoRespondersError);
        expect(ms).toBeLessThan(1000);
      });

      it("fails with BusRemoteError carrying the responder's message when its handler throws", async () => {
        await other.subscribe(subject('fragile'), async (m) => {
          if (str(m.data) === 'bad') {
            throw new Error('no route to\r\nsip:alice@example.com');
          }
          return { data: text('ok') };
        });

        const { result } = await elapsed(() => bus.request(subject('fragile'), text('bad'), { timeoutMs: 5000 }));
        const error = rejection(result);
        expect(error).toBeInstanceOf(BusRemoteError);
        expect((error as Error).message).toBe('no route to sip:alice@example.com');
        // The responder survives its handler's error.
        const reply = await bus.request(subject('fragile'), text('good'), { timeoutMs: 5000 });
        expect(str(reply.data)).toBe('ok');
      });

      it('keeps plain publishes working when a handler throws', async () => {
        const received: string[] = [];
        await other.subscribe(subject('throws'), (m) => {
          received.push(str(m.data));
          throw new Error('handler bug');
        });
        await bus.publish(subject('throws'), text('1'));
        await bus.publish(subject('throws'), text('2'));
        await vi.waitFor(() => expect(received).toEqual(['1', '2']), WAIT);
      });
    });

    describe('unsubscribe', () => {
      it('stops delivery to that subscription only', async () => {
        const stopped: string[] = [];
        const kept: string[] = [];
        const subscription = await other.subscribe(subject('u'), (m) => void stopped.push(str(m.data)));
        await other.subscribe(subject('u'), (m) => void kept.push(str(m.data)));

        await bus.publish(subject('u'), text('before'));
        await vi.waitFor(() => expect(stopped).toEqual(['before']), WAIT);
        await subscription.unsubscribe();
        await subscription.unsubscribe(); // idempotent
        await bus.publish(subject('u'), text('after'));

        await vi.waitFor(() => expect(kept).toEqual(['before', 'after']), WAIT);
        await sleep(QUIET_MS);
        expect(stopped).toEqual(['before']);
      });

      it('still handles what was routed to it before the unsubscription (a drain: nothing on its way is dropped)', async () => {
        const received: string[] = [];
        let stopping: Promise<void> | undefined;
        const subscription = await other.subscribe(subject('drain'), (m) => {
          received.push(str(m.data));
          if (stopping !== undefined) return;
          // Busy for a while, so that the rest is on its way (routed, in the socket) when the
          // unsubscription starts.
          const until = Date.now() + 300;
          while (Date.now() < until);
          stopping = subscription.unsubscribe();
        });
        const sent = Array.from({ length: 500 }, (_, i) => String(i));
        await Promise.all(sent.map((n) => bus.publish(subject('drain'), text(n))));
        await vi.waitFor(() => expect(stopping).toBeDefined(), WAIT);
        await stopping;
        expect(received).toEqual(sent);
        await bus.publish(subject('drain'), text('after'));
        await sleep(QUIET_MS);
        expect(received).toHaveLength(sent.length);
      });

      it('makes requests fail with no responders once the only responder is gone', async () => {
        const subscription = await other.subscribe(subject('gone'), async () => ({ data: text('here') }));
        expect(str((await bus.request(subject('gone'), text('?'), { timeoutMs: 5000 })).data)).toBe('here');
        await subscription.unsubscribe();
        await expect(bus.request(subject('gone'), text('?'), { timeoutMs: 5000 })).rejects.toBeInstanceOf(
          BusNoRespondersError,
        );
      });
    });

    describe('invalid input', () => {
      it('rejects bad subjects and headers with TypeError', async () => {
        await expect(bus.publish('', text('x'))).rejects.toBeInstanceOf(TypeError);
        await expect(bus.publish(subject('a..b'), text('x'))).rejects.toBeInstanceOf(TypeError);
        await expect(bus.publish(subject('has space'), text('x'))).rejects.toBeInstanceOf(TypeError);
        await expect(bus.publish(subject('*'), text('x'))).rejects.toBeInstanceOf(TypeError);
        await expect(bus.subscribe(subject('>.x'), () => undefined)).rejects.toBeInstanceOf(TypeError);
        await expect(bus.publish(subject('h'), text('x'), { 'bad:name': 'v' })).rejects.toBeInstanceOf(TypeError);
        await expect(bus.publish(subject('h'), text('x'), { name: 'a\r\nb' })).rejects.toBeInstanceOf(TypeError);
        await expect(bus.request(subject('r'), text('x'), { timeoutMs: 0 })).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('close', () => {
      it('lets running handlers reply, then fails every operation with BusUnavailableError', async () => {
        let started!: () => void;
        const handlerStarted = new Promise<void>((resolve) => (started = resolve));
        await other.subscribe(subject('slow'), async () => {
          started();
          await sleep(100);
          return { data: text('finished') };
        });
        const pending = bus.request(subject('slow'), text('?'), { timeoutMs: 5000 });
        await handlerStarted;

        await other.close();

        expect(str((await pending).data)).toBe('finished');
        expect(other.connected).toBe(false);
        await expect(other.publish(subject('x'), text('x'))).rejects.toBeInstanceOf(BusUnavailableError);
        await expect(other.subscribe(subject('x'), () => undefined)).rejects.toBeInstanceOf(BusUnavailableError);
        await expect(other.request(subject('x'), text('x'), { timeoutMs: 1000 })).rejects.toBeInstanceOf(
          BusUnavailableError,
        );
        await other.close(); // idempotent
        // The other client is unaffected, and the closed client's subscriptions are gone.
        await expect(bus.request(subject('slow'), text('?'), { timeoutMs: 5000 })).rejects.toBeInstanceOf(
          BusNoRespondersError,
        );
      });
    });

    if (outage) {
      describe('outage', () => {
        it('fails at once while disconnected, then works again, old subscriptions included', async () => {
          const received: string[] = [];
          await bus.subscribe(subject('survivor'), (m) => void received.push(str(m.data)));
          await other.subscribe(subject('never'), () => undefined); // a responder that never answers
          await other.subscribe(subject('svc'), async (m) => ({ data: text(`re:${str(m.data)}`) }));
          const waiting = bus.request(subject('never'), text('?'), { timeoutMs: 30_000 });
          // Attach the expectation before the outage, so the rejection is never unhandled.
          const waitingFails = expect(waiting).rejects.toBeInstanceOf(BusUnavailableError);

          await outage.disconnect(pair);
          await vi.waitFor(() => expect(bus.connected).toBe(false), { timeout: 10_000, interval: 10 });

          await waitingFails;
          const operations: (() => Promise<unknown>)[] = [
            () => bus.publish(subject('survivor'), text('lost')),
            () => bus.subscribe(subject('late'), () => undefined),
            () => bus.request(subject('svc'), text('?'), { timeoutMs: 5000 }),
          ];
          for (const operation of operations) {
            const { ms, result } = await elapsed(operation);
            expect(rejection(result)).toBeInstanceOf(BusUnavailableError);
            expect(ms).toBeLessThan(100);
          }

          await outage.reconnect(pair);
          await vi.waitFor(() => expect(bus.connected && other.connected).toBe(true), {
            timeout: 20_000,
            interval: 10,
          });

          await other.publish(subject('survivor'), text('back'));
          await vi.waitFor(() => expect(received).toEqual(['back']), WAIT);
          const reply = await bus.request(subject('svc'), text('again'), { timeoutMs: 5000 });
          expect(str(reply.data)).toBe('re:again');
        });
      });
    }
  });
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';
