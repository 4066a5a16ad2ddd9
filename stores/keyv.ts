import type Keyv from 'keyv';
import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX } from '../src/store.js';
import { KvSessionError } from '../src/errors.js';

/**
 * Adapts any Keyv instance. Keyv has no conditional write, so create/update/touch are a read then
 * an unconditional set: correct within one process when requests do not overlap on one session,
 * but two overlapping saves across processes can lose a key and a late save can resurrect a
 * destroyed session. The store declares `atomic: false` so callers can tell.
 */
export class KeyvStore implements SessionStore {
  readonly name = 'keyv';
  readonly prefix: string;
  readonly capabilities = { atomic: false, nativeExpiry: false } as const;
  readonly #keyv: Keyv;

  /** Wraps `keyv`; errors are made to throw (keyv's default would report them as "not found"). */
  constructor(keyv: Keyv, options: StoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#keyv = keyv;
    keyv.throwOnErrors = true;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    const raw = await this.#keyv.getRaw<string>(this.prefix + key);
    if (raw === undefined || typeof raw.value !== 'string') return undefined;
    const expiresAt = typeof raw.expires === 'number' ? raw.expires : Number.POSITIVE_INFINITY;
    return expiresAt > Date.now() ? { value: raw.value, expiresAt } : undefined;
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    if (await this.get(key)) return false;
    return this.#set(key, value, expiresAt);
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    if ((await this.get(key))?.value !== expected) return false;
    return this.#set(key, value, expiresAt);
  }

  async touch(key: string, expiresAt: number): Promise<boolean> {
    const entry = await this.get(key);
    if (!entry) return false;
    return this.#set(key, entry.value, expiresAt);
  }

  async delete(key: string): Promise<boolean> {
    return this.#keyv.delete(this.prefix + key);
  }

  async prune(): Promise<number> {
    let removed = 0;
    for await (const [key, expiresAt] of this.#entries()) {
      if (expiresAt <= Date.now() && (await this.#keyv.delete(key))) removed++;
    }
    return removed;
  }

  async count(): Promise<number> {
    let live = 0;
    for await (const [key, expiresAt] of this.#entries()) {
      if (!key.includes(':', this.prefix.length) && expiresAt > Date.now()) live++;
    }
    return live;
  }

  async clear(): Promise<void> {
    for await (const [key] of this.#entries()) await this.#keyv.delete(key);
  }

  async close(): Promise<void> {
    await this.#keyv.disconnect();
  }

  async #set(key: string, value: string, expiresAt: number): Promise<boolean> {
    // Keyv takes a relative TTL; adapters such as Redis reject non-integer or non-positive ones.
    const ttl = Math.max(1, Math.ceil(expiresAt - Date.now()));
    return this.#keyv.set(this.prefix + key, value, ttl);
  }

  /** Yields [key, expiresAt] for every entry under our prefix, via keyv's iterator. */
  async *#entries(): AsyncGenerator<[string, number]> {
    const iterator = this.#keyv.iterator;
    if (typeof iterator !== 'function') {
      throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'this Keyv store cannot list its keys (no iterator), so it cannot prune, count or clear');
    }
    const keys: string[] = [];
    for await (const [key] of iterator.call(this.#keyv, this.#keyv.namespace) as AsyncGenerator<[string, unknown]>) {
      if (typeof key === 'string' && key.startsWith(this.prefix)) keys.push(key);
    }
    for (const key of keys) {
      const raw = await this.#keyv.getRaw<string>(key);
      if (raw !== undefined) yield [key, typeof raw.expires === 'number' ? raw.expires : Number.POSITIVE_INFINITY];
      else yield [key, 0];
    }
  }
}

/** Wraps any Keyv instance as a session store (no atomic conditional writes; see KeyvStore). */
export function createKeyvStore(keyv: Keyv, options: StoreOptions = {}): KeyvStore {
  return new KeyvStore(keyv, options);
}
