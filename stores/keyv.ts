import type Keyv from 'keyv';
import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, PRUNE_PROGRESS_EVERY, isSessionKey } from '../src/store.js';
import { KvSessionError, storeClosed } from '../src/errors.js';

// What we hand to keyv: the record text plus its exact deadline. Keyv keeps only a relative TTL
// (its own `expires` is Date.now() + ttl at write time, a millisecond off when the clock ticks),
// so the deadline the core asked for travels inside the value and is the one enforced on read.
/** Options of createKeyvStore. */
export interface KeyvStoreOptions extends StoreOptions {
  /** The Keyv adapter deletes expired keys by itself (e.g. @keyv/redis), so background pruning is unnecessary. @default false */
  nativeExpiry?: boolean;
}

interface Boxed {
  v: string;
  e: number;
}

/**
 * Adapts any Keyv instance. Keyv has no conditional write, so create/update/touch are a read then
 * an unconditional set: correct within one process when requests do not overlap on one session,
 * but two overlapping saves across processes can lose a key and a late save can resurrect a
 * destroyed session. The store declares `atomic: false` so callers can tell.
 */
export class KeyvStore implements SessionStore {
  readonly name = 'keyv';
  readonly prefix: string;
  readonly capabilities: { readonly atomic: false; readonly nativeExpiry: boolean };
  readonly #keyv: Keyv;
  #closed = false;

  /** Wraps `keyv`; errors are made to throw (keyv's default would report them as "not found"). */
  constructor(keyv: Keyv, options: KeyvStoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.capabilities = { atomic: false, nativeExpiry: options.nativeExpiry ?? false };
    this.#keyv = keyv;
    keyv.throwOnErrors = true;
    warnNotAtomic();
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    this.#open();
    const boxed = unbox((await this.#keyv.getRaw<unknown>(this.prefix + key))?.value);
    return boxed !== undefined && boxed.e > Date.now()
      ? { value: boxed.v, expiresAt: boxed.e }
      : undefined;
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
    this.#open();
    return this.#keyv.delete(this.prefix + key);
  }

  async prune(progress?: () => void): Promise<number> {
    let removed = 0;
    let examined = 0;
    for (const [key, expiresAt] of await this.#entries()) {
      if (expiresAt <= Date.now() && (await this.#keyv.delete(key))) removed++;
      // One delete per round trip: a large store takes longer than one store timeout, so report per batch.
      if (++examined % PRUNE_PROGRESS_EVERY === 0) progress?.();
    }
    return removed;
  }

  async count(): Promise<number> {
    let live = 0;
    for (const [key, expiresAt] of await this.#entries()) {
      if (isSessionKey(key, this.prefix.length) && expiresAt > Date.now()) live++;
    }
    return live;
  }

  async clear(): Promise<void> {
    for (const [key] of await this.#entries()) await this.#keyv.delete(key);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#keyv.disconnect();
  }

  async #set(key: string, value: string, expiresAt: number): Promise<boolean> {
    const ttl = Math.ceil(expiresAt - Date.now());
    // An already-passed deadline means "gone"; adapters such as Redis reject non-positive TTLs anyway.
    if (ttl <= 0) {
      await this.#keyv.delete(this.prefix + key);
      return true;
    }
    const boxed: Boxed = { v: value, e: expiresAt };
    return this.#keyv.set(this.prefix + key, boxed, ttl);
  }

  /**
   * [key, expiresAt] for every entry under our prefix, expired ones included. Keyv's own iterator
   * silently deletes expired entries as it passes them, so prune could not count them; we read
   * the adapter directly (a Map, or an adapter with `iterator`) and decode with keyv's serializer.
   */
  async #entries(): Promise<[string, number][]> {
    this.#open();
    const keyv = this.#keyv;
    const store: unknown = keyv.store;
    let raw: AsyncIterable<unknown[]> | Iterable<unknown[]>;
    if (store instanceof Map) raw = store.entries() as Iterable<unknown[]>;
    else if (hasIterator(store)) raw = store.iterator(keyv.namespace);
    else
      throw new KvSessionError(
        'ERR_KVSESSION_UNSUPPORTED',
        'this Keyv store cannot list its keys (no iterator), so it cannot prune, count or clear',
      );
    // Keyv stores keys as `<namespace>:<key>`; it does not prefix a key that already carries it.
    const namespaced =
      keyv.namespace === undefined || !keyv.useKeyPrefix ? '' : keyv.namespace + ':';
    const out: [string, number][] = [];
    for await (const [rawKey, rawValue] of raw) {
      if (typeof rawKey !== 'string') continue;
      const key = rawKey.startsWith(namespaced) ? rawKey.slice(namespaced.length) : rawKey;
      if (!key.startsWith(this.prefix)) continue;
      // Same rule as Keyv#getRaw: strings go through the serializer, objects are stored as they are.
      const data: unknown =
        typeof rawValue === 'string' ? await keyv.deserializeData<unknown>(rawValue) : rawValue;
      out.push([
        key,
        unbox(isObject(data) ? (data as { value?: unknown }).value : undefined)?.e ?? 0,
      ]);
    }
    return out;
  }

  #open(): void {
    if (this.#closed) throw storeClosed(this.name);
  }
}

let warned = false;
// Once per process: a Keyv is usually built once, and the lesson is the same for every one.
function warnNotAtomic(): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    'kvsession: this Keyv store has no atomic conditional write, so overlapping saves of one session (two tabs, ' +
      'two app processes) can silently lose changes, and a save racing a logout can bring the session back. Use a ' +
      'store URL, or a Keyv over @keyv/redis, @keyv/postgres or @keyv/sqlite, which kvsession serves atomically.',
    { code: 'KVSESSION_KEYV_NOT_ATOMIC' },
  );
}

function unbox(value: unknown): Boxed | undefined {
  if (!isObject(value)) return undefined;
  const { v, e } = value as Partial<Boxed>;
  return typeof v === 'string' && typeof e === 'number' ? { v, e } : undefined;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function hasIterator(
  store: unknown,
): store is { iterator(namespace?: string): AsyncIterable<unknown[]> } {
  return isObject(store) && typeof (store as { iterator?: unknown }).iterator === 'function';
}

/** Wraps any Keyv instance as a session store (no atomic conditional writes; see KeyvStore). */
export function createKeyvStore(keyv: Keyv, options: KeyvStoreOptions = {}): KeyvStore {
  return new KeyvStore(keyv, options);
}
