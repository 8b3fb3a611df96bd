/**
 * `npm run bench:adapters`: the cost of the shared-state adapters on this machine, against Redis and
 * NATS containers started here (Testcontainers; local images from scripts/test-images.sh, or the
 * images named by SIPEDGE_REDIS_IMAGE / SIPEDGE_NATS_IMAGE). Prints a table and writes
 * bench/results/adapters.json. Not part of `npm test`.
 */
import { cpus } from 'node:os';
import { startNats, startRedis } from '../test/support/containers.js';
import { benchBus } from './adapters/bus.js';
import { benchHandoff } from './adapters/handoff.js';
import { benchStore } from './adapters/store.js';
import { benchTimers } from './adapters/timers.js';
import { writeResultJson } from './support/results.js';

const out = (s = '') => process.stdout.write(`${s}\n`);
const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits });

const redis = await startRedis();
const nats = await startNats();
try {
  out(`bench:adapters on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  const store = await benchStore(redis.url);
  out(
    `store CAS commits/s: ${n(store.uncontended.commitsPerSecond)} uncontended (32 writers, own records), ` +
      `${n(store.contended.commitsPerSecond)} contended (32 writers, one record, ${n(store.contended.conflicts)} conflicts retried); ` +
      `round trips per commit ${n(store.uncontended.roundTripsPerCommit, 2)} / ${n(store.contended.roundTripsPerCommit, 2)}`,
  );
  const bus = await benchBus(nats.url);
  out(
    `NATS request/reply round trip: p50 ${n(bus.rttP50Us)} µs, p99 ${n(bus.rttP99Us)} µs (${n(bus.requests)} requests)`,
  );
  const handoff = await benchHandoff(nats.url);
  for (const [mode, r] of [
    ['UDP (publish)', handoff.udp],
    ['TCP/TLS (request + acknowledgement)', handoff.tcp],
  ] as const) {
    out(
      `edge → worker hand-off, ${mode}: ${n(r.messagesPerSecond)} msg/s, latency p50 ${n(r.latencyP50Us)} µs, ` +
        `p99 ${n(r.latencyP99Us)} µs (${n(r.messages)} messages, 64 in flight)`,
    );
  }
  const timers = [await benchTimers(redis.url, { workers: 1 }), await benchTimers(redis.url, { workers: 2 })];
  timers.forEach((t, i) =>
    out(
      `BullMQ timers, ${i + 1} worker process${i === 0 ? '' : 'es'}: ${n(t.timers)} timers due at 500 ms, lateness ` +
        `p50 ${n(t.latenessP50Ms)} ms, p99 ${n(t.latenessP99Ms)} ms, max ${n(t.latenessMaxMs)} ms; ` +
        `${n(t.duplicateFires)} duplicate fires; scheduling took ${n(t.scheduleMs)} ms`,
    ),
  );
  out(
    `Redis per add + disarm: ${n(timers[0]!.redisRoundTripsPerAddDisarm, 1)} round trips, ` +
      `${n(timers[0]!.redisCommandsPerAddDisarm, 1)} commands executed (incl. inside BullMQ's scripts)`,
  );
  const file = await writeResultJson('adapters.json', {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    store,
    bus,
    handoff,
    timers,
  });
  out(`wrote ${file}`);
} finally {
  await redis.container.stop();
  await nats.container.stop();
}
