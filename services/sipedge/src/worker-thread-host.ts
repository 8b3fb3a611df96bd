/**
 * Standalone mode on two cores: the transaction worker on a thread of its own (worker-thread.ts),
 * the edge on the main thread. The worker thread reaches the main thread's in-memory bus and
 * stores over MessagePorts (@sipedge/bus PortBus, @sipedge/store portStores); its call records
 * and timers are its own, as only the worker uses them. The hand-offs waiting between the threads
 * are counted on both sides (thread-handoffs.ts), for the edge's overload control
 * (`EdgeDeps.workerBacklogMs`): above capacity the backlog is there, where the edge's UDP queue
 * probe does not see it.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { serveBusOnPort } from '@sipedge/bus';
import { SUBJECTS, overloadSettingsFromEnv } from '@sipedge/handoff';
import { serveStoresOnPort } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { Environment } from './config-file.js';
import type { Adapters, Stop } from './roles.js';
import { ThreadHandoffs, sharedTakenCount } from './thread-handoffs.js';
import type { ThreadData, ThreadNotice } from './worker-thread.js';

/** How long a stopping worker thread may take to stop its worker before it is terminated. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * The worker thread's entry: the compiled module, or from the sources (`npm start`, tests) the
 * TypeScript one behind a loader of tsx, which a worker thread does not inherit from its parent.
 */
function threadEntry(): URL {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(source ? './worker-thread.ts' : './worker-thread.js', import.meta.url);
  if (!source) return entry;
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};
register();
await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

/** Waits for the thread's next notice, or fails if the thread fails or exits first. */
function nextNotice(thread: Worker): Promise<ThreadNotice> {
  return new Promise((resolve, reject) => {
    const done = () => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    const onMessage = (notice: ThreadNotice) => {
      done();
      resolve(notice);
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the worker thread exited with code ${code}`));
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
  });
}

/**
 * Starts the worker on its own thread and resolves once it has started. A thread that fails later
 * stops the process (exit code 1): without its worker the edge could only refuse calls.
 */
export async function startWorkerThread(
  env: Environment,
  adapters: Adapters,
  logger: Logger,
): Promise<{ stop: Stop; backlogMs: () => number }> {
  const bus = new MessageChannel();
  const stores = new MessageChannel();
  const ownBus = await adapters.bus('worker-thread');
  const taken = sharedTakenCount();
  const handoffs = new ThreadHandoffs(taken, overloadSettingsFromEnv(env));
  serveBusOnPort(bus.port2, ownBus, logger, {
    forwarded: (message) => {
      if (message.subject === SUBJECTS.inbound) handoffs.handedOff(Date.now());
    },
  });
  serveStoresOnPort(stores.port2, adapters.stores);
  const data: ThreadData = { env, bus: bus.port1, stores: stores.port1, taken };
  const thread = new Worker(threadEntry(), { workerData: data, transferList: [bus.port1, stores.port1] });
  const started = await nextNotice(thread).catch((error: unknown) => ({ t: 'failed', error: String(error) }) as const);
  if (started.t !== 'started') {
    await thread.terminate();
    throw new Error(`the worker thread did not start: ${started.t === 'failed' ? started.error : started.t}`);
  }
  let stopping = false;
  const fail = (reason: unknown) => {
    if (stopping) return;
    logger.fatal({ err: reason }, 'the worker thread failed: stopping');
    process.exit(1);
  };
  thread.on('error', fail);
  thread.on('exit', (code) => fail(new Error(`the worker thread exited with code ${code}`)));
  const stop = async () => {
    stopping = true;
    const stopped = nextNotice(thread).catch(() => undefined);
    thread.postMessage({ t: 'stop' });
    const timeout = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
    await Promise.race([stopped, timeout]);
    await thread.terminate();
    bus.port2.close();
    stores.port2.close();
    await ownBus.close();
  };
  return { stop, backlogMs: () => handoffs.backlogMs(Date.now()) };
}
