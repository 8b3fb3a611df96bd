/**
 * Stores across threads: `portStores` gives a worker thread the stores of the thread that owns
 * them (`serveStoresOnPort`), each method call carried over a MessagePort and performed there.
 * Standalone mode shares its in-memory stores this way between the edge's thread and the
 * transaction worker's. Every port method takes and returns plain data, which a MessagePort
 * copies (a record's text given as a function is encoded before it crosses); an error comes back
 * with its class when it is one the ports throw (StoreUnavailableError, TypeError, RangeError), as
 * a plain Error with the same name and message otherwise.
 */
import type { MessagePort } from 'node:worker_threads';
import { type RecordWrite, StoreUnavailableError, textOf } from './ports.js';
import type { Stores } from './stores.js';

/** The stores a port serves: every one but `close`, which stays with the owner. */
export type ServedStores = Omit<Stores, 'close'>;
type StoreName = keyof ServedStores;

const STORE_NAMES: readonly StoreName[] = [
  'records',
  'locations',
  'connections',
  'edges',
  'nonces',
  'users',
  'dialogs',
  'captures',
  'abuse',
];

interface Call {
  id: number;
  store: StoreName;
  method: string;
  args: unknown[];
}

type Outcome = { id: number; value: unknown } | { id: number; error: { name: string; message: string } };

const ERRORS: Record<string, new (message: string) => Error> = {
  StoreUnavailableError,
  TypeError,
  RangeError,
};

function errorOf({ name, message }: { name: string; message: string }): Error {
  const Type = ERRORS[name];
  if (Type !== undefined) return new Type(message);
  const error = new Error(message);
  error.name = name;
  return error;
}

/** `args` as a MessagePort can copy them: a record write's text given as a function is encoded here. */
function portable(store: StoreName, method: string, args: unknown[]): unknown[] {
  if (store !== 'records' || method !== 'commit') return args;
  const [writes] = args as [readonly RecordWrite[]];
  return [writes.map((w) => (w.value === null ? w : { ...w, value: textOf(w.value) }))];
}

/** The owner's side: performs the calls that come over `port` on `stores`. */
export function serveStoresOnPort(port: MessagePort, stores: ServedStores): void {
  port.on('message', ({ id, store, method, args }: Call) => {
    const perform = async (): Promise<unknown> => {
      const target = stores[store] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const fn = target[method];
      if (!STORE_NAMES.includes(store) || typeof fn !== 'function') {
        throw new TypeError(`store: no method ${store}.${method}`);
      }
      return fn.apply(target, args);
    };
    perform().then(
      (value) => port.postMessage({ id, value } satisfies Outcome),
      (error: unknown) => {
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        port.postMessage({ id, error: { name, message } } satisfies Outcome);
      },
    );
  });
}

/**
 * The thread's side: stores whose every method is performed by the owner of `port`'s other end.
 * `close()` fails the calls still waiting and closes the port (the owner's stores stay open).
 */
export function portStores(port: MessagePort): Stores {
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let closed = false;
  port.on('message', (outcome: Outcome) => {
    const call = waiting.get(outcome.id);
    waiting.delete(outcome.id);
    if ('error' in outcome) call?.reject(errorOf(outcome.error));
    else call?.resolve(outcome.value);
  });
  const call = (store: StoreName, method: string, args: unknown[]): Promise<unknown> => {
    if (closed) return Promise.reject(new StoreUnavailableError('store: closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      port.postMessage({ id, store, method, args: portable(store, method, args) } satisfies Call);
    });
  };
  const remote = (store: StoreName) =>
    new Proxy(
      {},
      {
        get: (_target, method) =>
          typeof method === 'string' && method !== 'then'
            ? (...args: unknown[]) => call(store, method, args)
            : undefined,
      },
    );
  const stores = Object.fromEntries(STORE_NAMES.map((name) => [name, remote(name)])) as unknown as ServedStores;
  return {
    ...stores,
    async close() {
      closed = true;
      for (const call of waiting.values()) call.reject(new StoreUnavailableError('store: closed'));
      waiting.clear();
      port.close();
    },
  };
}
