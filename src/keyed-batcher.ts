interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit per key: at most one `run` per key is in flight; requests arriving meanwhile wait
 * and are served together by the next `run`. N concurrent requests for one key then cost about
 * two runs instead of N compare-and-set rounds that mostly fail.
 */
export class KeyedBatcher<T> {
  readonly #run: (key: string, count: number) => Promise<T[]>;
  readonly #waiting = new Map<string, Waiter<T>[]>();
  readonly #running = new Set<string>();

  /** `run(key, count)` must resolve exactly `count` results, one per waiting request, in order. */
  constructor(run: (key: string, count: number) => Promise<T[]>) {
    this.#run = run;
  }

  /** Joins the next batch for `key`; settles with this request's result or the batch's error. */
  submit(key: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = this.#waiting.get(key);
      if (queue === undefined) this.#waiting.set(key, [{ resolve, reject }]);
      else queue.push({ resolve, reject });
      if (!this.#running.has(key)) void this.#drain(key);
    });
  }

  async #drain(key: string): Promise<void> {
    this.#running.add(key);
    try {
      for (
        let batch = this.#waiting.get(key);
        batch !== undefined;
        batch = this.#waiting.get(key)
      ) {
        this.#waiting.delete(key);
        try {
          const results = await this.#run(key, batch.length);
          batch.forEach((w, i) => w.resolve(results[i] as T));
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.#running.delete(key);
    }
  }
}
