/**
 * The second timer worker of `benchTimers` (`./timers.ts`), as a separate process: started with
 * `fork` and an IPC channel, arguments `<redisUrl> <queueName> <prefix>`. It runs a BullMQ timer
 * worker on that queue and sends the lateness of each fire it handles to the parent, in batches:
 *
 *   child → parent  { type: 'ready' }                          worker started
 *                   { type: 'fires', fires: [key, latenessMs][] }
 *                   { type: 'closed' }                         after 'stop': all fires sent
 *   parent → child  { type: 'stop' }
 *
 * It prints nothing; it exits when the parent disconnects.
 */
import { createLogger } from '@sipedge/telemetry';
import { createBullmqTimers } from '@sipedge/timers';
import { dueOf } from './timers.js';

export type WorkerToParent = { type: 'ready' } | { type: 'fires'; fires: [string, number][] } | { type: 'closed' };
export type ParentToWorker = { type: 'stop' };

const [redisUrl, queueName, prefix] = process.argv.slice(2);
const send = (message: WorkerToParent) => process.send?.(message);

if (!redisUrl || !queueName || !prefix || !process.send) {
  process.exitCode = 2;
  throw new Error('usage: fork timers-worker.ts <redisUrl> <queueName> <prefix> (with an IPC channel)');
}

const timers = createBullmqTimers({
  redis: redisUrl,
  queueName,
  prefix,
  logger: createLogger({ name: 'bench-timers-worker', level: 'silent' }),
});
let batch: [string, number][] = [];
const flush = () => {
  if (batch.length > 0) {
    send({ type: 'fires', fires: batch });
    batch = [];
  }
};
const flusher = setInterval(flush, 50);

process.on('message', (message: ParentToWorker) => {
  if (message.type === 'stop') {
    void timers.close().finally(() => {
      clearInterval(flusher);
      flush();
      send({ type: 'closed' });
    });
  }
});
process.on('disconnect', () => {
  clearInterval(flusher);
  void timers.close().finally(() => process.exit(0));
});

await timers.startWorker(async (fire) => {
  batch.push([fire.key, Date.now() - dueOf(fire.key)]);
});
send({ type: 'ready' });
