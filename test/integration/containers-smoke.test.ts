import { Redis } from 'ioredis';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, type StartedNats, type StartedRedis } from '../support/containers.js';

// Checks that the test infrastructure itself works: real Redis and NATS (with JetStream)
// servers in containers, reachable with the clients sipedge uses.

const sc = StringCodec();

describe('Redis container', () => {
  let redis: StartedRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.quit();
    await redis?.container.stop();
  });

  it('stores and reads back a value', async () => {
    expect(await client.set('smoke:greeting', 'hello', 'EX', 60)).toBe('OK');
    expect(await client.get('smoke:greeting')).toBe('hello');
    expect(await client.get('smoke:absent')).toBeNull();
  });

  it('increments a counter atomically', async () => {
    await client.del('smoke:counter');
    const results = await Promise.all(Array.from({ length: 10 }, () => client.incr('smoke:counter')));
    expect(results.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await client.get('smoke:counter')).toBe('10');
  });
});

describe('NATS container', () => {
  let nats: StartedNats;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url, name: 'containers-smoke' });
  });

  afterAll(async () => {
    await nc?.drain();
    await nats?.container.stop();
  });

  it('delivers published messages to a subscriber', async () => {
    const sub = nc.subscribe('smoke.events', { max: 2 });
    nc.publish('smoke.events', sc.encode('one'));
    nc.publish('smoke.events', sc.encode('two'));
    const received: string[] = [];
    for await (const msg of sub) {
      received.push(sc.decode(msg.data));
    }
    expect(received).toEqual(['one', 'two']);
  });

  it('answers a request with a reply', async () => {
    const responder = nc.subscribe('smoke.echo');
    void (async () => {
      for await (const msg of responder) {
        msg.respond(sc.encode(`echo:${sc.decode(msg.data)}`));
      }
    })();
    const reply = await nc.request('smoke.echo', sc.encode('ping'), { timeout: 5_000 });
    expect(sc.decode(reply.data)).toBe('echo:ping');
    responder.unsubscribe();
  });

  it('has JetStream enabled', async () => {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();

    await jsm.streams.add({ name: 'SMOKE', subjects: ['smoke.js.>'] });
    const ack = await nc.jetstream().publish('smoke.js.one', sc.encode('stored'));
    expect(ack.stream).toBe('SMOKE');
    expect(ack.seq).toBe(1);
    const stored = await jsm.streams.getMessage('SMOKE', { seq: 1 });
    expect(sc.decode(stored.data)).toBe('stored');
  });

  it('serves the monitoring endpoint', async () => {
    const res = await fetch(`${nats.monitorUrl}/varz`);
    expect(res.ok).toBe(true);
    const varz = (await res.json()) as { jetstream?: { config?: unknown } };
    expect(varz.jetstream?.config).toBeDefined();
  });
});
