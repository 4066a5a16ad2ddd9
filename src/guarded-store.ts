import type { DataChanges, SessionStore, StoreEntry } from './store.js';
import { forwardWarm } from './store.js';
import { KvSessionError, storeUnavailable } from './errors.js';

/**
 * Wraps a store so every operation settles within `timeoutMs` and fails only with coded errors.
 * keyv and its adapters have no per-operation timeout (a Redis get can hang for a whole outage),
 * so this bound is enforced here, once, for every store including third-party ones.
 */
export function guardStore(store: SessionStore, timeoutMs: number): SessionStore {
  const run = <T>(what: string, op: () => Promise<T>): Promise<T> => withTimeout(store.name, what, timeoutMs, op);
  return {
    name: store.name,
    prefix: store.prefix,
    capabilities: store.capabilities,
    get: (key): Promise<StoreEntry | undefined> => run('get', () => store.get(key)),
    create: (key, value, expiresAt) => run('create', () => store.create(key, value, expiresAt)),
    update: (key, expected, value, expiresAt) => run('update', () => store.update(key, expected, value, expiresAt)),
    touch: (key, expiresAt) => run('touch', () => store.touch(key, expiresAt)),
    delete: (key) => run('delete', () => store.delete(key)),
    prune: () => run('prune', () => store.prune()),
    count: () => run('count', () => store.count()),
    clear: () => run('clear', () => store.clear()),
    close: () => run('close', () => store.close()),
    ...forwardWarm(store),
    ...forwardMerge(store, run),
  };
}

/** The store's mergeData, bounded like every other operation, or none when the store has none (spread it in). */
function forwardMerge(store: SessionStore, run: <T>(what: string, op: () => Promise<T>) => Promise<T>): Pick<SessionStore, 'mergeData'> {
  if (store.mergeData === undefined) return {};
  const merge = (key: string, changes: DataChanges, maxBytes: number, expiresAt: number): Promise<StoreEntry | undefined> =>
    store.mergeData === undefined ? Promise.resolve(undefined) : store.mergeData(key, changes, maxBytes, expiresAt);
  return { mergeData: (key, changes, maxBytes, expiresAt) => run('mergeData', () => merge(key, changes, maxBytes, expiresAt)) };
}

/** Runs `op`, rejecting with ERR_KVSESSION_STORE_TIMEOUT (503) if it has not settled within `ms`. */
export function withTimeout<T>(storeName: string, what: string, ms: number, op: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new KvSessionError('ERR_KVSESSION_STORE_TIMEOUT', `the ${storeName} store did not answer ${what} within ${ms} ms`, {
          status: 503,
        }),
      );
    }, ms);
    timer.unref?.();
    let pending: Promise<T>;
    try {
      pending = op();
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(storeUnavailable(err, what));
      },
    );
  });
}
