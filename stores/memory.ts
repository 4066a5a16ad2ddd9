import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, isSessionKey } from '../src/store.js';
import { storeClosed } from '../src/errors.js';

/** The in-process store: keyv's storage model (a Map of entries with an absolute expiry), atomic because single-threaded. */
export class MemoryStore implements SessionStore {
  readonly name = 'memory';
  readonly prefix: string;
  readonly capabilities = { atomic: true, nativeExpiry: false } as const;
  // Keyv's default store is a plain Map; we hold the Map directly rather than through a
  // Keyv instance because Keyv offers no conditional write and re-serializes every value.
  readonly #map: Map<string, StoreEntry>;
  #closed = false;

  /** Creates a memory store; pass `map` to share one Map between several prefixes. */
  constructor(options: StoreOptions & { map?: Map<string, StoreEntry> } = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#map = options.map ?? new Map();
  }

  /** How many entries the Map holds, expired or not (for leak tests). */
  get size(): number {
    return this.#map.size;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    return this.#live(this.prefix + key);
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    if (this.#live(full)) return false;
    this.#map.set(full, { value, expiresAt });
    return true;
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    if (this.#live(full)?.value !== expected) return false;
    this.#map.set(full, { value, expiresAt });
    return true;
  }

  async touch(key: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    const entry = this.#live(full);
    if (!entry) return false;
    this.#map.set(full, { value: entry.value, expiresAt });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.#open();
    return this.#map.delete(this.prefix + key);
  }

  async prune(): Promise<number> {
    this.#open();
    const now = Date.now();
    let removed = 0;
    for (const [key, entry] of this.#map) {
      if (key.startsWith(this.prefix) && entry.expiresAt <= now) {
        this.#map.delete(key);
        removed++;
      }
    }
    return removed;
  }

  async count(): Promise<number> {
    this.#open();
    const now = Date.now();
    let live = 0;
    for (const [key, entry] of this.#map) {
      if (
        key.startsWith(this.prefix) &&
        isSessionKey(key, this.prefix.length) &&
        entry.expiresAt > now
      )
        live++;
    }
    return live;
  }

  async clear(): Promise<void> {
    this.#open();
    for (const key of this.#map.keys()) if (key.startsWith(this.prefix)) this.#map.delete(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #live(full: string): StoreEntry | undefined {
    this.#open();
    const entry = this.#map.get(full);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > Date.now()) return entry;
    // Expired entries are dropped on sight so an idle Map still shrinks between prunes.
    this.#map.delete(full);
    return undefined;
  }

  #open(): void {
    if (this.#closed) throw storeClosed(this.name);
  }
}

/** Creates an in-process memory store (`memory://`). */
export function createMemoryStore(options: StoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}
