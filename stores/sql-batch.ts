/*
 * Batching for the SQL stores, hand-written because it has to follow each database's own cost
 * model (no general-purpose batcher knows that a Postgres round trip is a socket write and a
 * wake-up of the server process, or that a SQLite commit is an fsync):
 *
 * - Postgres: lookups issued in the same turn of the event loop (requests that arrived together)
 *   go out as one `key = ANY(...)` query, so a burst of N reads pays one round trip, not N.
 * - SQLite: writes that queue up while a commit is in progress are committed together in one
 *   transaction (group commit), so N concurrent saves pay one fsync, not N.
 *
 * A lone operation is never delayed behind a batch and never wrapped: it runs as before.
 */

/** A pending caller of a batched operation. */
interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** Runs lookups of the same turn of the event loop as one query; a lone lookup runs as a single query. */
export class LookupBatcher<V> {
  readonly #one: (key: string) => Promise<V | undefined>;
  readonly #many: (keys: string[]) => Promise<ReadonlyMap<string, V>>;
  readonly #max: number;
  #pending = new Map<string, Waiter<V | undefined>[]>();
  #scheduled = false;

  /** `one` fetches a single key, `many` up to `max` distinct keys at once (absent keys left out of its map). */
  constructor(
    one: (key: string) => Promise<V | undefined>,
    many: (keys: string[]) => Promise<ReadonlyMap<string, V>>,
    max = 256,
  ) {
    this.#one = one;
    this.#many = many;
    this.#max = max;
  }

  /** The value under `key`, fetched with whatever other keys are asked for in this turn. */
  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(key);
      if (waiters === undefined) this.#pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate, not a microtask: requests read from several sockets in one poll phase all get to join.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    const keys = [...pending.keys()];
    if (keys.length === 1) {
      const key = keys[0] as string;
      settle(
        attempt(() => this.#one(key)),
        pending.get(key) ?? [],
      );
      return;
    }
    for (let i = 0; i < keys.length; i += this.#max) {
      const chunk = keys.slice(i, i + this.#max);
      attempt(() => this.#many(chunk)).then(
        (found) => {
          for (const key of chunk)
            for (const w of pending.get(key) ?? []) w.resolve(found.get(key));
        },
        (err: unknown) => {
          for (const key of chunk) for (const w of pending.get(key) ?? []) w.reject(err);
        },
      );
    }
  }
}

/** One write waiting for its turn in a group commit. */
interface QueuedWrite<R> extends Waiter<R> {
  readonly run: () => Promise<R>;
}

/** How a group commit talks to its single connection. */
export interface Transactions {
  begin(): Promise<unknown>;
  commit(): Promise<unknown>;
  rollback(): Promise<unknown>;
}

/**
 * Group commit on a single connection: writes arriving while a commit is in progress are
 * committed together next, in one transaction. Each write keeps its own result (a statement that
 * fails or matches no row answers only its own caller); a failed BEGIN or COMMIT fails the whole
 * group, since none of it is durable then. Only for a store whose writes all go through here:
 * a write from outside would join the open transaction.
 */
export class GroupCommit<R> {
  readonly #tx: Transactions;
  #queue: QueuedWrite<R>[] = [];
  #busy = false;

  constructor(tx: Transactions) {
    this.#tx = tx;
  }

  /** Runs `statement` in the next group; resolves with its own result once that group is durable. */
  write(statement: () => Promise<R>): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ run: statement, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        // One turn of the event loop lets the writes of requests that arrived together form a group.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      if (group.length === 1) await runAlone(group[0] as QueuedWrite<R>);
      else await this.#commitGroup(group);
    }
    this.#busy = false;
  }

  async #commitGroup(group: readonly QueuedWrite<R>[]): Promise<void> {
    try {
      await this.#tx.begin();
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    const outcomes = await Promise.allSettled(group.map((w) => attempt(w.run)));
    try {
      await this.#tx.commit();
    } catch (err) {
      // SQLite leaves the transaction open after a failed COMMIT (e.g. SQLITE_BUSY): end it, or every later write would join it.
      await this.#tx.rollback().catch(() => undefined);
      for (const w of group) w.reject(err);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const w = group[i] as QueuedWrite<R>;
      if (outcome.status === 'fulfilled') w.resolve(outcome.value);
      else w.reject(outcome.reason);
    });
  }
}

async function runAlone<R>(w: QueuedWrite<R>): Promise<void> {
  try {
    w.resolve(await w.run());
  } catch (err) {
    w.reject(err);
  }
}

// A callback that throws instead of rejecting must fail its callers, not the timer it runs on (which would crash the process).
async function attempt<T>(op: () => Promise<T>): Promise<T> {
  return op();
}

function settle<T>(pending: Promise<T>, waiters: readonly Waiter<T>[]): void {
  pending.then(
    (value) => {
      for (const w of waiters) w.resolve(value);
    },
    (err: unknown) => {
      for (const w of waiters) w.reject(err);
    },
  );
}
