import { PendingChanges } from './pending-changes.js';

/** A save waiting for the one in flight on the same record. */
interface Waiting<R> {
  readonly changes: PendingChanges;
  readonly save: (changes: PendingChanges) => Promise<R>;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Combines concurrent saves of one session record within this process. One save per record is in
 * flight at a time; the requests that arrive meanwhile are saved together next, their changes
 * applied in arrival order, as one write. Eight overlapping writers per process then compete with
 * the other processes as one, instead of each retrying its own compare-and-set against all others.
 */
export class SaveCoalescer<R> {
  readonly #waiting = new Map<string, Waiting<R>[]>();
  readonly #busy = new Set<string>();

  /** Runs `save(changes)` for `key`, now or combined with the other saves that wait behind the one in flight. */
  run(
    key: string,
    changes: PendingChanges,
    save: (changes: PendingChanges) => Promise<R>,
  ): Promise<R> {
    if (!this.#busy.has(key)) {
      // Nothing in flight for this record, as for nearly every save: the caller awaits the save
      // itself, without a promise of ours in between.
      this.#busy.add(key);
      let saved: Promise<R>;
      try {
        saved = save(changes);
      } catch (err) {
        saved = Promise.reject(err);
      }
      const next = (): void => this.#next(key);
      saved.then(next, next);
      return saved;
    }
    return new Promise<R>((resolve, reject) => {
      const waiting = this.#waiting.get(key);
      if (waiting !== undefined) waiting.push({ changes, save, resolve, reject });
      else this.#waiting.set(key, [{ changes, save, resolve, reject }]);
    });
  }

  /** The save in flight for `key` has settled: run the saves that waited behind it, as one batch. */
  #next(key: string): void {
    const next = this.#waiting.get(key);
    this.#waiting.delete(key);
    if (next === undefined) this.#busy.delete(key);
    else void this.#runBatch(key, next);
  }

  /** Saves a batch as one write; if that fails, each member alone, so one bad save fails only its own request. */
  async #runBatch(key: string, batch: readonly Waiting<R>[]): Promise<void> {
    const [first] = batch as [Waiting<R>];
    try {
      const combined =
        batch.length === 1 ? first.changes : PendingChanges.combine(batch.map((w) => w.changes));
      const result = await first.save(combined);
      for (const w of batch) w.resolve(result);
    } catch (err) {
      if (batch.length === 1) first.reject(err);
      else for (const w of batch) await w.save(w.changes).then(w.resolve, w.reject);
    } finally {
      this.#next(key);
    }
  }
}
