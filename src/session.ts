import type { Request } from 'express';
import type { SessionContext } from './context.js';
import type { StoreEntry } from './store.js';
import type { SessionData } from './types.js';
import type { Encoded } from './serializer.js';
import type { SessionRecord } from './record.js';
import { KvSessionError, isKvSessionError, storeUnavailable } from './errors.js';
import { encodeValue, decodeValue } from './serializer.js';
import { encodeRecord, decodeRecord, decodeRecordCached } from './record.js';
import { PendingChanges } from './pending-changes.js';
import { createSessionId, storeKeyFor, handleFor } from './id.js';

/** The data shape: the app's augmented SessionData, or an open record when it has not augmented it. */
export type Data = keyof SessionData extends never ? Record<string, unknown> : SessionData;
/** A key of the session data. */
export type DataKey = keyof Data & string;

// A save retries its per-key merge this many times before giving up with ERR_KVSESSION_CONFLICT.
const MAX_MERGE_ATTEMPTS = 16;

/** What the middleware must do to the response once the session has been committed. */
export type CookieAction = { kind: 'none' } | { kind: 'set'; value: string; maxAgeMs: number | undefined } | { kind: 'clear' };
// Shared: every request starts with "no cookie change", and most end with it.
const NO_COOKIE: CookieAction = Object.freeze({ kind: 'none' });
const CLEAR_COOKIE: CookieAction = Object.freeze({ kind: 'clear' });

/** Reserves (and returns) the ID a session created in this request will get; for the express-session drop-in. */
export const RESERVE_ID = Symbol('kvsession.reserveId');
/** True while the session exists in the store (a cheap `handle !== undefined`); for the express-session drop-in. */
export const IS_STORED = Symbol('kvsession.isStored');

/** The live state of a loaded session record. */
interface Loaded {
  key: string;
  entry: StoreEntry;
  record: SessionRecord;
}

/**
 * `req.session`: lazily loaded, changes recorded per key and merged onto the latest stored
 * record when saved. One instance per request; internal state is private so it never leaks
 * into stored data or `JSON.stringify(req.session)`.
 */
export class Session {
  readonly #ctx: SessionContext;
  readonly #req: Request;
  #id: string | undefined;
  #loading: Promise<void> | undefined;
  #loaded: Loaded | undefined;
  readonly #changes = new PendingChanges();
  #cookie: CookieAction = NO_COOKIE;
  #degraded = false;
  #loadFailed = false;
  #onFirstUse: (() => void) | undefined;
  /** The ID the next session created by this request will be stored under, once someone has asked for it. */
  #reserved: string | undefined;
  /** The first load has finished: no stored session can turn up any more. */
  #settled = false;

  /** Created by the middleware; `onFirstUse` arms the save-before-response hook. */
  constructor(ctx: SessionContext, req: Request, onFirstUse: () => void) {
    this.#ctx = ctx;
    this.#req = req;
    this.#onFirstUse = onFirstUse;
  }

  /** The public session ID, as soon as a session exists or is being created in this request. */
  get id(): string | undefined {
    if (this.#loaded !== undefined) return this.#id;
    // Before the first load a valid cookie may still turn into a stored session: no ID can be promised yet.
    if (!this.#changes.any || (!this.#settled && this.#ctx.cookies.read(this.#req) !== undefined)) return undefined;
    return this[RESERVE_ID]();
  }

  /** Whether this request's session exists in the store. */
  get [IS_STORED](): boolean {
    return this.#loaded !== undefined;
  }

  /** The stored session's ID, else the one a session created by this request will get (from `make`, else random). */
  [RESERVE_ID](make: () => string = createSessionId): string {
    if (this.#loaded !== undefined && this.#id !== undefined) return this.#id;
    this.#reserved ??= make();
    return this.#reserved;
  }

  /** An opaque handle for this session (as listed by listUserSessions), once it exists. */
  get handle(): string | undefined {
    return this.#loaded === undefined ? undefined : handleFor(this.#loaded.key);
  }

  /** True only under `onStoreError: 'anonymous'` while the store is failing. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** The user bound by `login()`, if any. */
  async userId(): Promise<string | undefined> {
    await this.#load();
    return this.#loaded?.record.userId;
  }

  /** Reads one value; loads the session on first use (at most one store read per request). */
  async get<K extends DataKey>(key: K): Promise<Data[K] | undefined> {
    await this.#load();
    const encoded = this.#current(key);
    return encoded === undefined ? undefined : (decodeValue(encoded) as Data[K]);
  }

  /** True when the key holds a value. */
  async has(key: DataKey): Promise<boolean> {
    await this.#load();
    return this.#current(key) !== undefined;
  }

  /** A snapshot of all data. */
  async all(): Promise<Readonly<Partial<Data>>> {
    await this.#load();
    const out: Record<string, unknown> = {};
    for (const [key, encoded] of this.#changes.applyTo(this.#loaded?.record.data)) {
      Object.defineProperty(out, key, { value: decodeValue(encoded), enumerable: true, writable: true, configurable: true });
    }
    return out as Partial<Data>;
  }

  /** Records a change; throws ERR_KVSESSION_NOT_SERIALIZABLE at once for values that would not round-trip. */
  set<K extends DataKey>(key: K, value: Data[K]): void {
    checkKey(key);
    this.#arm();
    if (value === undefined) {
      this.#changes.delete(key);
      return;
    }
    this.#changes.set(key, encodeValue(value, key));
  }

  /** Records the removal of one key. */
  delete(key: DataKey): void {
    checkKey(key);
    this.#arm();
    this.#changes.delete(key);
  }

  /** Records the removal of every key (the session itself stays). */
  clear(): void {
    this.#arm();
    this.#changes.clear();
  }

  /** Saves pending changes now; normally unnecessary, since they are saved before the response is sent. */
  async save(): Promise<void> {
    this.#arm();
    await this.#load();
    if (this.#degraded) return;
    if (!this.#changes.any) return this.#touchIfDue();
    if (this.#loaded === undefined) return this.#create(this.#changes.applyTo(undefined), undefined);
    return this.#update();
  }

  /** New ID, same data; the old record is deleted and its cookie stops working at once. */
  async regenerate(): Promise<void> {
    await this.#regenerate(undefined);
  }

  /**
   * Re-reads the record from the store (an explicit second read), for long-lived handlers such as
   * socket events; this request's unsaved changes stay on top. A session gone meanwhile becomes a new, empty one.
   */
  async reload(): Promise<void> {
    await this.#load();
    const loaded = this.#loaded;
    if (loaded === undefined) return;
    let entry: StoreEntry | undefined;
    try {
      entry = await this.#ctx.store.get(loaded.key);
    } catch (err) {
      throw storeUnavailable(err, 'reload');
    }
    const record = entry === undefined ? undefined : decodeRecordCached(this.#ctx.records, entry.value);
    const now = this.#ctx.now();
    if (entry === undefined || record === undefined || now >= entry.expiresAt || now >= record.createdAt + this.#ctx.absoluteMs) {
      this.#reset();
      return;
    }
    this.#loaded = { key: loaded.key, entry, record };
  }

  /** Regenerates the ID and binds the session to `userId` in the per-user index. */
  async login(userId: string | number): Promise<void> {
    const id = String(userId);
    if (id === '') throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'login(userId) needs a non-empty user id');
    await this.#regenerate(id);
  }

  /** Deletes the record and clears the cookie; a concurrent request can never bring it back. */
  async destroy(): Promise<void> {
    this.#arm();
    await this.#load();
    const loaded = this.#loaded;
    if (loaded !== undefined) {
      await this.#ctx.store.delete(loaded.key);
      if (loaded.record.userId !== undefined) await this.#ctx.users.unbind(loaded.record.userId, loaded.key);
    }
    this.#reset();
    this.#cookie = CLEAR_COOKIE;
  }

  /**
   * Called by the middleware just before the response starts: saves pending changes or
   * touches the idle deadline, then says which Set-Cookie to send.
   */
  async commit(): Promise<CookieAction> {
    // A failed load was already reported to the handler that asked; never report it twice.
    if (this.#loadFailed) return { kind: 'none' };
    try {
      if (this.#loading !== undefined || this.#changes.any) await this.save();
    } catch (err) {
      // Under 'anonymous' a store failure never fails the response: the changes are dropped, as a degraded session's are.
      if (this.#ctx.onStoreError !== 'anonymous' || !isStoreFailure(err)) throw err;
      this.#degraded = true;
      this.#reset();
      this.#cookie = NO_COOKIE;
    }
    const action = this.#cookie;
    this.#cookie = NO_COOKIE;
    return action;
  }

  #arm(): void {
    const arm = this.#onFirstUse;
    if (arm !== undefined) {
      this.#onFirstUse = undefined;
      arm();
    }
  }

  #load(): Promise<void> {
    this.#loading ??= this.#read().then(
      () => {
        this.#settled = true;
      },
      (err: unknown) => {
        this.#settled = true;
        this.#loadFailed = true;
        throw err;
      },
    );
    return this.#loading;
  }

  async #read(): Promise<void> {
    const cookie = this.#ctx.cookies.read(this.#req);
    // A forged or malformed cookie never reaches the store: it is simply no session.
    if (cookie === undefined) return;
    const key = cookie.key;
    let entry: StoreEntry | undefined;
    try {
      entry = await this.#ctx.store.get(key);
    } catch (err) {
      if (this.#ctx.onStoreError === 'anonymous') {
        this.#degraded = true;
        return;
      }
      throw storeUnavailable(err, 'load');
    }
    if (entry === undefined) return;
    const record = decodeRecordCached(this.#ctx.records, entry.value);
    const now = this.#ctx.now();
    if (record === undefined || now >= entry.expiresAt || now >= record.createdAt + this.#ctx.absoluteMs) {
      // Not ours, corrupt, or past a deadline the store did not enforce: drop it so it cannot linger.
      // Best effort: the record is dead either way and prune removes it later, so a failure here must not fail the request.
      await this.#ctx.store.delete(key).catch(() => false);
      return;
    }
    this.#id = cookie.id;
    this.#loaded = { key, entry, record };
    if (cookie.rotated) this.#issueCookie();
    // A plain read needs nothing before the response; only a due touch or a re-signed cookie does,
    // so only then is the response held back (the hook costs ~10% of a bare request on reads).
    if (cookie.rotated || this.#touchDue(this.#loaded)) this.#arm();
  }

  #touchDue(loaded: Loaded): boolean {
    // Read-heavy traffic writes at most once per touchInterval: only extend when it gains that much.
    return this.#deadline(this.#ctx.now(), loaded.record.createdAt) - loaded.entry.expiresAt >= this.#ctx.touchMs;
  }

  #current(key: string): Encoded | undefined {
    return this.#changes.current(key, this.#loaded?.record.data);
  }

  async #create(data: Map<string, Encoded>, userId: string | undefined): Promise<void> {
    // A visitor who sets nothing (or sets and deletes) gets neither a record nor a cookie.
    if (data.size === 0 && userId === undefined) {
      this.#changes.reset();
      return;
    }
    if (this.#req.res?.headersSent === true) {
      // The cookie could never reach the client: a record created now would be unreachable debris.
      throw new KvSessionError(
        'ERR_KVSESSION_HEADERS_SENT',
        'a new session cannot start after the response headers were sent; set session values before writing the response',
        { status: 500 },
      );
    }
    const now = this.#ctx.now();
    userId ??= this.#userFromData(data);
    const record: SessionRecord = { createdAt: now, userId, data: Object.fromEntries(data) };
    const value = this.#encode(record);
    this.#changes.reset();
    const expiresAt = this.#deadline(now, record.createdAt);
    // 256-bit IDs do not collide; a false here means a broken store, so one retry then fail.
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = attempt === 0 && this.#reserved !== undefined ? this.#reserved : createSessionId();
      const key = storeKeyFor('', id);
      if (await this.#ctx.store.create(key, value, expiresAt)) {
        this.#reserved = undefined;
        this.#id = id;
        this.#loaded = { key, entry: { value, expiresAt }, record };
        this.#issueCookie();
        if (userId !== undefined) await this.#ctx.users.bind(userId, key, record.createdAt + this.#ctx.absoluteMs);
        return;
      }
    }
    throw new KvSessionError('ERR_KVSESSION_CONFLICT', 'the store refused to create a new session twice', { status: 503 });
  }

  async #update(): Promise<void> {
    let loaded = this.#loaded as Loaded;
    for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
      const data = this.#changes.applyTo(loaded.record.data);
      const userId = this.#userFromData(data) ?? loaded.record.userId;
      const record: SessionRecord = { ...loaded.record, userId, data: Object.fromEntries(data) };
      const value = this.#encode(record);
      if (value === loaded.entry.value) {
        // Setting a key to the value it already had writes nothing.
        this.#changes.reset();
        return this.#touchIfDue();
      }
      const expiresAt = this.#deadline(this.#ctx.now(), record.createdAt);
      if (await this.#ctx.store.update(loaded.key, loaded.entry.value, value, expiresAt)) {
        this.#loaded = { key: loaded.key, entry: { value, expiresAt }, record };
        this.#changes.reset();
        if (this.#ctx.cookie.persistent) this.#issueCookie();
        if (userId !== undefined && userId !== loaded.record.userId) return this.#rebind(loaded, userId);
        return this.#extendUserIndex();
      }
      // Another request changed or deleted the record since we read it: re-read and re-apply our keys.
      const entry = await this.#ctx.store.get(loaded.key);
      const fresh = entry === undefined ? undefined : decodeRecord(entry.value);
      if (entry === undefined || fresh === undefined) {
        // Destroyed meanwhile: a destroyed session is final, so our changes are dropped, never resurrected.
        this.#reset();
        return;
      }
      loaded = { key: loaded.key, entry, record: fresh };
      this.#loaded = loaded;
    }
    throw new KvSessionError('ERR_KVSESSION_CONFLICT', `the session kept changing under ${MAX_MERGE_ATTEMPTS} save attempts`, {
      status: 503,
    });
  }

  async #regenerate(userId: string | undefined): Promise<void> {
    this.#arm();
    await this.#load();
    const old = this.#loaded;
    const data = this.#changes.applyTo(this.#loaded?.record.data);
    const keepUser = userId ?? old?.record.userId;
    this.#reset();
    await this.#create(data, keepUser);
    if (old !== undefined) {
      const oldWasLive = await this.#ctx.store.delete(old.key);
      if (old.record.userId !== undefined) await this.#ctx.users.unbind(old.record.userId, old.key);
      // The old session was ended meanwhile (destroy, log out everywhere): its successor must not outlive it.
      if (!oldWasLive && this.#loaded !== undefined) await this.#endNew(this.#loaded);
    }
    // Even with nothing to store, the old cookie must not survive a privilege change.
    if (this.#loaded === undefined && old !== undefined) this.#cookie = CLEAR_COOKIE;
  }

  async #touchIfDue(): Promise<void> {
    const loaded = this.#loaded;
    if (loaded === undefined) return;
    if (!this.#touchDue(loaded)) return;
    const target = this.#deadline(this.#ctx.now(), loaded.record.createdAt);
    if (await this.#ctx.store.touch(loaded.key, target)) {
      this.#loaded = { ...loaded, entry: { value: loaded.entry.value, expiresAt: target } };
      if (this.#ctx.cookie.persistent) this.#issueCookie();
      await this.#extendUserIndex();
    } else {
      this.#reset();
    }
  }

  /** The user `userIdFrom` finds in the data about to be saved, if the hook is set and finds one. */
  #userFromData(data: Map<string, Encoded>): string | undefined {
    const hook = this.#ctx.userIdFrom;
    if (hook === undefined) return undefined;
    const plain: Record<string, unknown> = {};
    for (const [key, encoded] of data) {
      Object.defineProperty(plain, key, { value: decodeValue(encoded), enumerable: true, writable: true, configurable: true });
    }
    const found: unknown = hook(plain);
    if (typeof found === 'string' && found !== '') return found;
    if (typeof found === 'number' && Number.isFinite(found)) return String(found);
    return undefined;
  }

  /** The saved record now names another user (userIdFrom): move it from the old user's index to the new one's. */
  async #rebind(previous: Loaded, userId: string): Promise<void> {
    await this.#ctx.users.bind(userId, previous.key, previous.record.createdAt + this.#ctx.absoluteMs);
    if (previous.record.userId !== undefined) await this.#ctx.users.unbind(previous.record.userId, previous.key);
  }

  /** Deletes and unbinds the session this request has just created. */
  async #endNew(fresh: Loaded): Promise<void> {
    await this.#ctx.store.delete(fresh.key);
    if (fresh.record.userId !== undefined) await this.#ctx.users.unbind(fresh.record.userId, fresh.key);
    this.#reset();
  }

  /** A bound session's expiry just moved forward: its user's index must live at least as long, or "log out everywhere" would miss it. */
  async #extendUserIndex(): Promise<void> {
    const loaded = this.#loaded;
    if (loaded?.record.userId === undefined) return;
    await this.#ctx.users.extend(loaded.record.userId, loaded.key, loaded.record.createdAt + this.#ctx.absoluteMs);
  }

  #encode(record: SessionRecord): string {
    const value = encodeRecord(record);
    if (Buffer.byteLength(value) > this.#ctx.maxSessionBytes) {
      throw new KvSessionError(
        'ERR_KVSESSION_TOO_LARGE',
        `the session would be ${Buffer.byteLength(value)} bytes, over maxSessionBytes (${this.#ctx.maxSessionBytes})`,
        { status: 500 },
      );
    }
    return value;
  }

  /** The store expiry: the idle deadline, capped by the absolute one. */
  #deadline(now: number, createdAt: number): number {
    return Math.min(now + this.#ctx.idleMs, createdAt + this.#ctx.absoluteMs);
  }

  #issueCookie(): void {
    const loaded = this.#loaded;
    if (loaded === undefined || this.#id === undefined) return;
    const maxAgeMs = this.#ctx.cookie.persistent ? loaded.entry.expiresAt - this.#ctx.now() : undefined;
    this.#cookie = { kind: 'set', value: this.#ctx.signer.sign(this.#id), maxAgeMs };
  }

  #reset(): void {
    this.#id = undefined;
    this.#reserved = undefined;
    this.#loaded = undefined;
    this.#changes.reset();
  }
}

function isStoreFailure(err: unknown): boolean {
  return isKvSessionError(err, 'ERR_KVSESSION_STORE_UNAVAILABLE') || isKvSessionError(err, 'ERR_KVSESSION_STORE_TIMEOUT');
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') {
    throw new KvSessionError('ERR_KVSESSION_NOT_SERIALIZABLE', 'session keys must be non-empty strings');
  }
}
