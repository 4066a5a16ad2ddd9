/**
 * A size-bounded map that forgets its least recently refreshed half when full.
 * Hand-written because the per-request cost must stay near a plain Map lookup: a true LRU
 * (lru-cache and friends) re-links an entry on every hit, and two generations need no bookkeeping.
 */
export class BoundedCache<K, V> {
  readonly #limit: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  /** Holds between `limit` and 2 × `limit` entries once warm. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The value under `key`, if remembered; a hit in the older half moves it to the younger. */
  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  /** Remembers `value` under `key`, dropping the older half when the younger one is full. */
  set(key: K, value: V): void {
    if (this.#young.size >= this.#limit) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  /** How many entries are held (both halves; a key may be counted twice). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}
