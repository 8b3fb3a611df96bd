/**
 * The worker thread of standalone mode (worker-thread-host.ts starts it): a transaction worker on
 * the main thread's bus and stores, reached over MessagePorts, with call records and timers of its
 * own. It says `started` (or `failed`) once, then stops its worker when told `stop` and says
 * `stopped`. Its log lines carry `thread: "worker"`.
 */
import { type MessagePort, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PortBus } from '@sipedge/bus';
import { MemoryRecordStore, portStores } from '@sipedge/store';
import { startTelemetry } from '@sipedge/telemetry';
import { MemoryTimerHub, MemoryTimers } from '@sipedge/timers';
import { workerConfigFromEnv } from '@sipedge/worker';
import type { Environment } from './config-file.js';
import { roleLogger, startWorker } from './roles.js';
import { countTaken } from './thread-handoffs.js';

export interface ThreadData {
  /** The process's settings, with the fleet secret the worker signs with. */
  env: Environment;
  bus: MessagePort;
  stores: MessagePort;
  /**
   * The count of hand-offs the worker has taken (thread-handoffs.ts), which the edge on the main
   * thread reads for its overload control.
   */
  taken: SharedArrayBuffer;
}

export type ThreadNotice = { t: 'started' } | { t: 'failed'; error: string } | { t: 'stopped' };

async function run(host: MessagePort, { env, bus, stores, taken }: ThreadData): Promise<void> {
  const notify = (notice: ThreadNotice) => host.postMessage(notice);
  const logger = roleLogger('all', env).child({ thread: 'worker' });
  try {
    const stopTelemetry = await startTelemetry({ serviceName: 'sipedge' });
    const remote = portStores(stores);
    const timerHub = new MemoryTimerHub();
    const running = await startWorker(
      workerConfigFromEnv(env),
      {
        bus: async () => new PortBus(bus, { logger }),
        stores: { ...remote, records: new MemoryRecordStore() },
        timers: () => new MemoryTimers({ hub: timerHub, logger }),
        handoffTaken: countTaken(taken),
      },
      logger,
    );
    host.once('message', () => {
      void (async () => {
        await running.stop();
        await remote.close();
        await stopTelemetry();
        notify({ t: 'stopped' });
        host.close();
      })();
    });
    notify({ t: 'started' });
  } catch (error) {
    logger.error({ err: error }, 'the worker thread could not start');
    notify({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
  }
}

if (!isMainThread && parentPort !== null) await run(parentPort, workerData as ThreadData);
