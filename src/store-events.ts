import createDebug from 'debug';
import type { StoreOperation } from './store-decorator.js';
import { isKvSessionError } from './errors.js';
import { redactSecrets } from './redact.js';

/** One store operation as the store guard saw it: how long it took and how it ended. */
export interface StoreOperationEvent {
  readonly type: 'operation';
  /** The store's name, e.g. `'redis'`. */
  readonly store: string;
  readonly op: StoreOperation;
  /** Milliseconds from the call to its settling (or to the storeTimeout). */
  readonly ms: number;
  readonly ok: boolean;
  /** On failure, the KvSessionError code, e.g. `ERR_KVSESSION_STORE_TIMEOUT`. */
  readonly code?: string;
}

/** A save's compare-and-set was refused because another request changed the record first. */
export interface StoreConflictEvent {
  readonly type: 'conflict';
  readonly store: string;
  /** 0 for the first refusal of a save, then 1, 2, … */
  readonly attempt: number;
  /**
   * `'merged'`: the store merged the save's keys on its server instead (PostgreSQL), so it is saved;
   * `'retry'`: the save re-reads and tries again; `'gave-up'`: storeTimeout passed, the save fails with ERR_KVSESSION_CONFLICT.
   */
  readonly outcome: 'merged' | 'retry' | 'gave-up';
}

/** A prune (background or manual) finished. */
export interface StorePruneEvent {
  readonly type: 'prune';
  readonly store: string;
  /** Expired records removed. */
  readonly deleted: number;
  readonly ms: number;
}

/** What the `onStoreEvent` option receives. */
export type StoreEvent = StoreOperationEvent | StoreConflictEvent | StorePruneEvent;

/** The `onStoreEvent` option: called synchronously; what it throws is reported once and otherwise ignored. */
export type StoreEventListener = (event: StoreEvent) => void;

// `DEBUG=kvsession` shows what an operator acts on (failures, timeouts, conflicts, prunes; the stores add
// their connections, see stores/connection-events.ts);
// `DEBUG=kvsession:store` adds one line per successful operation, which is too many for a busy server.
const log = createDebug('kvsession');
const logOps = createDebug('kvsession:store');
const CONFLICT_OUTCOMES = {
  merged: 'merged on the server',
  retry: 'retrying',
  'gave-up': 'gave up',
};

/** Where store events go: the app's listener and the debug log. Exists only when one of them listens. */
export class StoreEventSink {
  #warned = false;

  private constructor(private readonly listener: StoreEventListener | undefined) {}

  /** A sink, or undefined when nothing listens, so callers skip timing and building events entirely. */
  static create(listener: StoreEventListener | undefined): StoreEventSink | undefined {
    return listener === undefined && !log.enabled && !logOps.enabled
      ? undefined
      : new StoreEventSink(listener);
  }

  /** Delivers `event`; never throws, whatever the listener does. */
  emit(event: StoreEvent): void {
    logEvent(event);
    if (this.listener === undefined) return;
    try {
      this.listener(event);
    } catch (err) {
      if (this.#warned) return;
      this.#warned = true;
      process.emitWarning(
        `kvsession: the onStoreEvent listener threw (reported once, requests are not affected): ${redactSecrets(String(err))}`,
      );
    }
  }
}

function logEvent(event: StoreEvent): void {
  switch (event.type) {
    case 'operation':
      if (event.ok) logOps('%s %s %dms', event.store, event.op, Math.round(event.ms));
      else
        log(
          '%s %s failed after %dms: %s',
          event.store,
          event.op,
          Math.round(event.ms),
          event.code ?? 'error',
        );
      return;
    case 'conflict':
      log(
        '%s conflict: save refused (attempt %d), %s',
        event.store,
        event.attempt,
        CONFLICT_OUTCOMES[event.outcome],
      );
      return;
    case 'prune':
      log(
        '%s prune removed %d expired records in %dms',
        event.store,
        event.deleted,
        Math.round(event.ms),
      );
  }
}

/** The stable code of a store failure (the guard turns every failure into a KvSessionError). */
export function failureCode(err: unknown): string {
  return isKvSessionError(err) ? err.code : 'ERR_KVSESSION_STORE_UNAVAILABLE';
}
