/**
 * What the shared services and sipedge's workers report, read before and after each step: Redis
 * commands by name (INFO commandstats), NATS messages (the monitoring endpoint's /varz), and the
 * workers' timer-lateness histograms and Redis round trips (their Prometheus /metrics).
 */
import { Redis } from 'ioredis';
import { commandCalls } from '../support/redis.js';
import { type Buckets, bucketSum, parseHistogram } from '../support/stats.js';

/** Commands Redis has executed, by command name (INFO itself left out). */
export async function redisCommands(url: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await commandCalls(redis);
  } finally {
    redis.disconnect();
  }
}

/** Messages the NATS server has received from clients (`in_msgs` of /varz). */
export async function natsMessagesIn(monitorUrl: string): Promise<number> {
  const response = await fetch(`${monitorUrl}/varz`);
  if (!response.ok) throw new Error(`NATS ${monitorUrl}/varz: HTTP ${response.status}`);
  const varz = (await response.json()) as { in_msgs: number };
  return varz.in_msgs;
}

const TIMER_LATENESS = 'sipedge_worker_timer_lateness_seconds';

/**
 * The Redis calls the workers made, by operation (record load and commit, deadline add, move and
 * removal, dialog), summed over workers: each is one round trip, awaited one after another.
 */
export async function redisRoundTrips(metricsUrls: readonly string[]): Promise<Map<string, number>> {
  const byOperation = new Map<string, number>();
  for (const url of metricsUrls) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    for (const [, labels, count] of (await response.text()).matchAll(
      /^sipedge_worker_redis_duration_seconds_count\{([^}]*)\} (\d+)$/gm,
    )) {
      const operation = /operation="([^"]*)"/.exec(labels!)?.[1] ?? 'other';
      byOperation.set(operation, (byOperation.get(operation) ?? 0) + Number(count));
    }
  }
  return byOperation;
}

/** The lateness of a worker's call-record deadlines (`timer="deadline"`, not its retransmissions). */
export async function deadlineLateness(metricsUrl: string): Promise<Buckets> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`${metricsUrl}: HTTP ${response.status}`);
  const rows = (await response.text()).split('\n').filter((row) => row.includes('timer="deadline"'));
  return parseHistogram(rows.join('\n'), TIMER_LATENESS);
}

/** The timer-lateness histogram summed over workers' /metrics URLs. */
export async function timerLateness(metricsUrls: readonly string[]): Promise<Buckets> {
  let sum: Buckets = new Map();
  for (const url of metricsUrls) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    sum = bucketSum(sum, parseHistogram(await response.text(), TIMER_LATENESS));
  }
  return sum;
}
