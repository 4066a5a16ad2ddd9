import type { SessionStore } from './store.js';
import type { StoreOperation } from './store-decorator.js';
import { StoreDecorator } from './store-decorator.js';
import { KvSessionError, storeUnavailable } from './errors.js';
import type { StoreEventSink } from './store-events.js';
import { failureCode } from './store-events.js';

/**
 * A store whose every operation settles within `timeoutMs` and fails only with coded errors.
 * keyv and its adapters have no per-operation timeout (a Redis get can hang for a whole outage),
 * so this bound is enforced here, once, for every store including third-party ones.
 */
class GuardedStore extends StoreDecorator {
  constructor(
    inner: SessionStore,
    private readonly timeoutMs: number,
    private readonly events: StoreEventSink | undefined,
  ) {
    super(inner);
  }

  protected override intercept<T>(
    op: StoreOperation,
    call: (beat?: () => void) => Promise<T>,
  ): Promise<T> {
    if (this.events === undefined) return withTimeout(this.name, op, this.timeoutMs, call);
    return this.#observe(
      this.events,
      op,
      performance.now(),
      withTimeout(this.name, op, this.timeoutMs, call),
    );
  }

  // Timed outside the timeout, so a timed-out operation reports the time the request waited.
  async #observe<T>(
    events: StoreEventSink,
    op: StoreOperation,
    start: number,
    pending: Promise<T>,
  ): Promise<T> {
    try {
      const value = await pending;
      const ms = performance.now() - start;
      events.emit({ type: 'operation', store: this.name, op, ms, ok: true });
      if (op === 'prune' && typeof value === 'number')
        events.emit({ type: 'prune', store: this.name, deleted: value, ms });
      return value;
    } catch (err) {
      events.emit({
        type: 'operation',
        store: this.name,
        op,
        ms: performance.now() - start,
        ok: false,
        code: failureCode(err),
      });
      throw err;
    }
  }
}

/**
 * Wraps a store so every operation settles within `timeoutMs` and fails only with coded errors;
 * with `events`, each operation is also reported with its time and outcome.
 */
export function guardStore(
  store: SessionStore,
  timeoutMs: number,
  events?: StoreEventSink,
): SessionStore {
  return new GuardedStore(store, timeoutMs, events);
}

/**
 * Runs `op`, rejecting with ERR_KVSESSION_STORE_TIMEOUT (503) if it has not settled within `ms`.
 * `op` may call the `restart` it is given to begin a new `ms` (a prune, after each of its batches).
 */
export function withTimeout<T>(
  storeName: string,
  what: string,
  ms: number,
  op: (restart: () => void) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        settled = true;
        reject(
          new KvSessionError(
            'ERR_KVSESSION_STORE_TIMEOUT',
            `the ${storeName} store did not answer ${what} within ${ms} ms`,
            {
              status: 503,
            },
          ),
        );
      }, ms);
      timer.unref?.();
    };
    arm();
    const restart = (): void => {
      if (!settled) arm();
    };
    let pending: Promise<T>;
    try {
      pending = op(restart);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        settled = true;
        clearTimeout(timer);
        reject(storeUnavailable(err, what));
      },
    );
  });
}
