import type { SessionStore } from './store.js';
import type { StoreOperation } from './store-decorator.js';
import { StoreDecorator } from './store-decorator.js';
import { KvSessionError, storeUnavailable } from './errors.js';

/**
 * A store whose every operation settles within `timeoutMs` and fails only with coded errors.
 * keyv and its adapters have no per-operation timeout (a Redis get can hang for a whole outage),
 * so this bound is enforced here, once, for every store including third-party ones.
 */
class GuardedStore extends StoreDecorator {
  constructor(
    inner: SessionStore,
    private readonly timeoutMs: number,
  ) {
    super(inner);
  }

  protected override intercept<T>(op: StoreOperation, call: () => Promise<T>): Promise<T> {
    return withTimeout(this.name, op, this.timeoutMs, call);
  }
}

/** Wraps a store so every operation settles within `timeoutMs` and fails only with coded errors. */
export function guardStore(store: SessionStore, timeoutMs: number): SessionStore {
  return new GuardedStore(store, timeoutMs);
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
