/** One stored record as a store holds it. */
export interface StoreEntry {
  /** The record text exactly as it was written; `update` compares against this. */
  readonly value: string;
  /** Absolute expiry in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** What a store guarantees beyond plain get/set/delete; the core reads these, never sniffs. */
export interface StoreCapabilities {
  /** `create`, `update` and `touch` are atomic against other writers, in and across processes. */
  readonly atomic: boolean;
  /** The backend deletes expired records by itself, so background pruning is unnecessary. */
  readonly nativeExpiry: boolean;
}

/**
 * The contract every kvsession store implements, in two tiers (like express-session's store list).
 * Required: get, create, update, touch, delete, close. Optional: prune, count, clear, warm; the core
 * degrades as each one's doc says. Keys passed in are relative to the store's own prefix (`prefix`
 * option). Keys for which isSessionKey() is false belong to the core's indexes: store them like any
 * other, but leave them out of count(). Every method rejects on a backend failure: never "not found"
 * or `false` for an error.
 */
export interface SessionStore {
  /** Short name for messages and metrics, e.g. `'redis'`. */
  readonly name: string;
  /** The namespace prepended to every key, so several apps can share one backend. */
  readonly prefix: string;
  /** Declared guarantees; see StoreCapabilities. */
  readonly capabilities: StoreCapabilities;
  /** Required. The live entry under `key`, or undefined when it is missing or expired. */
  get(key: string): Promise<StoreEntry | undefined>;
  /** Required. Writes only if no live entry exists under `key`; resolves false when one does. */
  create(key: string, value: string, expiresAt: number): Promise<boolean>;
  /** Required. Replaces the entry only if its value is exactly `expected`; false when it differs or is gone. */
  update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean>;
  /** Required. Moves a live entry's expiry without rewriting its value; false when it is gone. */
  touch(key: string, expiresAt: number): Promise<boolean>;
  /** Required. Deletes the entry; resolves true when one existed. */
  delete(key: string): Promise<boolean>;
  /** Required. Releases connections and handles; later calls reject with ERR_KVSESSION_STORE_CLOSED. */
  close(): Promise<void>;
  /**
   * Optional. Deletes expired entries (and any debris such as temp files) under this prefix; resolves how many
   * records. Without it no background pruning runs and `prune()` resolves 0: expired records stay until read.
   * A store that prunes in batches calls `progress` after each one, so the caller's time bound
   * (`storeTimeout`) applies to each batch rather than to the whole prune.
   */
  prune?(progress?: () => void): Promise<number>;
  /** Optional. How many live session records (isSessionKey) this prefix holds. Without it `count` is unsupported. */
  count?(): Promise<number>;
  /** Optional. Deletes every entry under this prefix, and nothing outside it. Without it `clear` is unsupported. */
  clear?(): Promise<void>;
  /**
   * Optional. Loads the driver and opens the connection ahead of the first request, so that one does
   * not spend its storeTimeout on it. Never keeps the process alive. kvSession() reports a failure once
   * as a process warning; the next operation fails with it too.
   */
  warm?(): Promise<void>;
  /**
   * Optional. Applies one request's per-key `changes` to the data of the session record under `key`
   * on the server, in one atomic step, moves its expiry to `expiresAt`, and resolves the new entry.
   * Asked when a save's `update` (compare-and-set) was refused, instead of a re-read and a retry.
   * Resolves undefined, writing nothing, when the entry is missing or expired, when the new record
   * text would exceed `maxBytes` (UTF-8), or when the store cannot merge this data; the caller then
   * falls back to get + `update`. Only for stores that understand kvsession's record format
   * (JSON `{"c":…,"u":…,"d":{…}}`); a store without it is driven by compare-and-set alone.
   */
  mergeData?(
    key: string,
    changes: DataChanges,
    maxBytes: number,
    expiresAt: number,
  ): Promise<StoreEntry | undefined>;
}

/** One request's changes to a session's data, key by key, as handed to `SessionStore.mergeData`. */
export interface DataChanges {
  /** Every existing data key is dropped before `set` applies (the request called `session.clear()`). */
  readonly clear: boolean;
  /** New values: JSON text of each key's encoded value. */
  readonly set: ReadonlyMap<string, string>;
  /** Keys to remove. */
  readonly delete: readonly string[];
}

/** A store with the whole optional maintenance tier (prune, count, clear), as every built-in store is. */
export type FullSessionStore = SessionStore &
  Required<Pick<SessionStore, 'prune' | 'count' | 'clear'>>;

/** True when `store` implements the optional member `name`. */
export function supports<K extends 'prune' | 'count' | 'clear' | 'warm'>(
  store: SessionStore,
  name: K,
): store is SessionStore & Required<Pick<SessionStore, K>> {
  return typeof store[name] === 'function';
}

/** The character that marks the core's index records: a session key never contains it. */
export const INDEX_MARK = ':';

/** True for a session record's key (relative to the prefix); false for one of the core's index records. */
export function isSessionKey(key: string, from = 0): boolean {
  return !key.includes(INDEX_MARK, from);
}

/** Options every built-in store factory accepts. */
export interface StoreOptions {
  /** Namespace inside the backend. @default 'sess:' */
  prefix?: string;
  /** Bound, in ms, that the backend client itself uses for connecting and for each command. @default 2000 */
  timeout?: number;
}

/** The default namespace. */
export const DEFAULT_PREFIX = 'sess:';

/** Records a store that prunes one record per round trip (file, Keyv) examines between two `progress()` reports. */
export const PRUNE_PROGRESS_EVERY = 200;
