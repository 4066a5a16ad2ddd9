import type { SessionStore } from '../../src/store.js';
import type { StoreOperation } from '../../src/store-decorator.js';
import { StoreDecorator } from '../../src/store-decorator.js';
import type { ServerStats } from './harness.js';
import { countOp } from './harness.js';

// Maintenance calls (count, clear, close) are no part of a request's cost. A record, not a list, so a
// new store operation cannot go uncounted by omission: mergeData (Postgres's one-statement save) once did.
const COUNTED: Readonly<Record<StoreOperation, boolean>> = {
  get: true,
  create: true,
  update: true,
  touch: true,
  delete: true,
  prune: true,
  mergeData: true,
  count: false,
  clear: false,
  close: false,
};

/**
 * Counts every session operation in `stats` under its method name. Each is one backend round trip
 * for the built-in stores (conditional writes are single statements/scripts), so the counts are
 * round trips per request. warm() passes through uncounted: kvSession() connects with it.
 */
class CountingStore extends StoreDecorator {
  constructor(
    inner: SessionStore,
    private readonly stats: ServerStats,
  ) {
    super(inner);
  }

  protected override intercept<T>(op: StoreOperation, call: () => Promise<T>): Promise<T> {
    if (COUNTED[op]) countOp(this.stats, op);
    return call();
  }
}

/** Wraps a kvsession store so every session operation is counted in `stats`. */
export function countingStore(store: SessionStore, stats: ServerStats): SessionStore {
  return new CountingStore(store, stats);
}
