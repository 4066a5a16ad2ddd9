import type { IncomingMessage } from 'node:http';
import type { SessionContext } from './context.js';
import type { StoreEntry } from './store.js';
import type { Encoded } from './serializer.js';
import type { CookieAction, Data, DataKey, Loaded, Origin } from './session-types.js';
import { CLEAR_COOKIE, HAS_COOKIE, IS_STORED, NO_COOKIE, RESERVE_ID } from './session-types.js';
import { KvSessionError, isKvSessionError, storeUnavailable } from './errors.js';
import { encodeValue, decodeValue, decodeData } from './serializer.js';
import { liveRecord } from './record-read.js';
import { PendingChanges } from './pending-changes.js';
import { createSessionId, handleFor } from './id.js';
import type { LoginOptions } from './user-args.js';
import { checkKeep, checkUserId } from './user-args.js';
import type { VerifiedCookie } from './verified-cookies.js';
import { deadlineOf } from './record-rules.js';
import { createSession, deleteCreated } from './record-create.js';
import { writeChanges } from './record-write.js';

export type { CookieAction, Data, DataKey, Loaded, SaveOutcome } from './session-types.js';
export { HAS_COOKIE, IS_STORED, RESERVE_ID } from './session-types.js';

/**
 * `req.session`: lazily loaded, changes recorded per key and merged onto the latest stored
 * record when saved. One instance per request; internal state is private so it never leaks
 * into stored data or `JSON.stringify(req.session)`.
 */
export class Session {
  readonly #ctx: SessionContext;
  readonly #req: IncomingMessage;
  readonly #res: { readonly headersSent?: boolean };
  #id: string | undefined;
  #loading: Promise<void> | undefined;
  #loaded: Loaded | undefined;
  readonly #changes = new PendingChanges();
  #cookie: CookieAction = NO_COOKIE;
  #degraded = false;
  #loadFailed = false;
  #loadSettled = false;
  // A save, regenerate, login or destroy the handler awaited has failed: the handler has the error,
  // so the response hold neither retries the save nor raises the error a second time.
  #failed = false;
  #holdResponse: (() => void) | undefined;
  #wrote = false;
  /** The ID the next session created by this request will be stored under, once someone has asked for it. */
  #reserved: string | undefined;
  /** The request's verified session cookie once read (null: none); request headers do not change. */
  #verified: VerifiedCookie | null | undefined;

  /** Created by the middleware; `holdResponse` holds the response until the session is saved. */
  constructor(
    ctx: SessionContext,
    req: IncomingMessage,
    res: { readonly headersSent?: boolean },
    holdResponse: () => void,
  ) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#holdResponse = holdResponse;
  }

  /** The public session ID, as soon as a session exists or is being created in this request. */
  get id(): string | undefined {
    if (this.#loaded !== undefined) return this.#id;
    // A degraded session is never saved: it has no ID to promise.
    if (this.#degraded) return undefined;
    // Before the first load a valid cookie may still turn into a stored session: no ID can be promised yet.
    if (!this.#changes.any || (!this.#loadSettled && this.#verifiedCookie() !== undefined))
      return undefined;
    return this[RESERVE_ID]();
  }

  /** Whether the request carries a validly signed session cookie. */
  get [HAS_COOKIE](): boolean {
    return this.#verifiedCookie() !== undefined;
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
    const stored = this.#loaded?.record.data;
    // Unchanged (every reading request): decoded as stored, without a merged copy first.
    if (!this.#changes.any)
      return (stored === undefined ? {} : decodeData(stored)) as Partial<Data>;
    return decodeData(this.#changes.applyTo(stored)) as Partial<Data>;
  }

  /** Records a change; throws ERR_KVSESSION_NOT_SERIALIZABLE at once for values that would not round-trip. */
  set<K extends DataKey>(key: K, value: Data[K]): void {
    checkKey(key);
    this.#hold();
    if (value === undefined) {
      this.#changes.delete(key);
      return;
    }
    this.#changes.set(key, encodeValue(value, key));
  }

  /** Records the removal of one key. */
  delete(key: DataKey): void {
    checkKey(key);
    this.#hold();
    this.#changes.delete(key);
  }

  /** Records the removal of every key (the session itself stays). */
  clear(): void {
    this.#hold();
    this.#changes.clear();
  }

  /** Saves pending changes now; normally unnecessary, since they are saved before the response is sent. */
  async save(): Promise<void> {
    this.#hold();
    return this.#reported(this.#save());
  }

  // Each step is awaited rather than returned: an async function that returns a promise settles
  // two microtask turns later than one that awaits it, on every saving request.
  async #save(): Promise<void> {
    // Loaded already (every request that changed what it read): no turn of the microtask queue.
    if (!this.#loadSettled || this.#loadFailed) await this.#load();
    if (this.#degraded) return;
    if (!this.#changes.any) await this.#touchIfDue();
    else if (this.#loaded === undefined)
      await this.#create(this.#changes.applyTo(undefined), { kind: 'anonymous' });
    else await this.#update();
  }

  /** New ID, same data, same absolute deadline; the old record is deleted and its cookie stops working at once. */
  async regenerate(): Promise<void> {
    return this.#reported(this.#regenerate(undefined));
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
    const live = liveRecord(this.#ctx, loaded.key, entry);
    if (live === undefined) this.#reset();
    else this.#loaded = live;
  }

  /**
   * New ID and a new absolute deadline, bound to `userId` in the per-user index before any cookie is set.
   * Pre-login data is dropped unless named in `keep`, so nothing planted before login survives into it.
   */
  async login(userId: string | number, options?: LoginOptions): Promise<void> {
    const id = checkUserId(userId, 'login(userId)');
    return this.#reported(this.#regenerate({ userId: id, keep: checkKeep(options) }));
  }

  /**
   * Deletes the record and clears the cookie; a concurrent request can never bring it back.
   * Rejects when the delete fails: a logout never reports a success it did not have.
   */
  async destroy(): Promise<void> {
    this.#hold();
    return this.#reported(this.#destroy());
  }

  async #destroy(): Promise<void> {
    // The read only tells which user index to update: when it fails, the key still comes from the cookie.
    const readFailed = await this.#load().then(
      () => this.#degraded,
      () => true,
    );
    const loaded = this.#loaded;
    const key = loaded?.key ?? (readFailed ? this.#verifiedCookie()?.key : undefined);
    if (key !== undefined) {
      const existed = await this.#ctx.store.delete(key);
      // Only the request that deleted the session frees its slot: a regenerate may have moved the slot to a new key.
      // Unread, the user index keeps a stale slot; listing drops it, since its record is gone.
      if (existed && loaded?.record.userId !== undefined)
        await this.#ctx.users.unbind(loaded.record.userId, loaded.record.slot, key);
    }
    this.#reset();
    this.#cookie = CLEAR_COOKIE;
    if (readFailed) {
      // The logout went through: the response must clear the cookie, not fail on the read it did not need.
      this.#loadFailed = false;
      this.#loading = Promise.resolve();
    }
  }

  /**
   * Called by the middleware just before the response starts: saves pending changes or
   * touches the idle deadline, then says which Set-Cookie to send.
   */
  async commit(): Promise<CookieAction> {
    // A failed load or save was already reported to the handler that asked; never report it twice.
    if (this.#loadFailed || this.#failed) return NO_COOKIE;
    try {
      if (this.#loading !== undefined || this.#changes.any) await this.#save();
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

  /**
   * The cookie action at once when commit() would have nothing to wait for (no read in flight, no
   * change, no touch due), else undefined. Lets a response go out without a turn of the event loop:
   * engine.io writes a WebSocket upgrade's headers synchronously after writeHead().
   */
  settled(): CookieAction | undefined {
    if (this.#loadFailed || this.#failed) return NO_COOKIE;
    if (this.#changes.any || (this.#loading !== undefined && !this.#loadSettled)) return undefined;
    const loaded = this.#loaded;
    if (loaded !== undefined && !this.#degraded && this.#touchDue(loaded)) return undefined;
    const action = this.#cookie;
    this.#cookie = NO_COOKIE;
    return action;
  }

  #hold(): void {
    const hold = this.#holdResponse;
    if (hold !== undefined) {
      this.#holdResponse = undefined;
      hold();
    }
  }

  /** Passes a failure on to the handler that awaited it, remembering it was reported. */
  async #reported(op: Promise<void>): Promise<void> {
    try {
      await op;
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  #load(): Promise<void> {
    this.#loading ??= this.#read().then(
      () => {
        this.#loadSettled = true;
      },
      (err: unknown) => {
        this.#loadSettled = true;
        this.#loadFailed = true;
        throw err;
      },
    );
    return this.#loading;
  }

  /** The request's verified session cookie, read once. */
  #verifiedCookie(): VerifiedCookie | undefined {
    this.#verified ??= this.#ctx.cookies.read(this.#req) ?? null;
    return this.#verified ?? undefined;
  }

  async #read(): Promise<void> {
    const cookie = this.#verifiedCookie();
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
    const live = liveRecord(this.#ctx, key, entry);
    if (live === undefined) {
      // Dead either way: drop it so it cannot linger. Best effort: prune removes it later, so a failure here must not fail the request.
      await this.#ctx.store.delete(key).catch(() => false);
      return;
    }
    this.#id = cookie.id;
    this.#loaded = live;
    if (cookie.rotated) this.#issueCookie();
    // A plain read needs nothing before the response; only a due touch or a re-signed cookie does,
    // so only then is the response held back (a hold costs ~10% of a bare request on reads).
    if (cookie.rotated || this.#touchDue(this.#loaded)) this.#hold();
  }

  #touchDue(loaded: Loaded): boolean {
    // Read-heavy traffic writes at most once per touchInterval: only extend when it gains that much.
    // A record this request has just written is as fresh as a touch would make it.
    if (this.#wrote) return false;
    return (
      deadlineOf(this.#ctx, this.#ctx.now(), loaded.record.createdAt) - loaded.entry.expiresAt >=
      this.#ctx.touchMs
    );
  }

  #current(key: string): Encoded | undefined {
    return this.#changes.current(key, this.#loaded?.record.data);
  }

  async #create(data: Map<string, Encoded>, origin: Origin): Promise<void> {
    const made = await createSession(this.#ctx, data, origin, {
      reserved: this.#reserved,
      headersSent: this.#res.headersSent === true,
      consume: () => this.#changes.reset(),
    });
    if (made === undefined) return;
    this.#reserved = undefined;
    if (made === 'ended') return;
    this.#id = made.id;
    this.#wrote = true;
    this.#loaded = made.loaded;
    // Only now, with the session in its user's index, may its cookie go out.
    this.#issueCookie();
  }

  async #update(): Promise<void> {
    const base = this.#loaded as Loaded;
    const outcome = await this.#ctx.saves.run(base.key, this.#changes, (changes) =>
      writeChanges(this.#ctx, base, changes),
    );
    if (outcome.kind === 'gone') {
      // Destroyed meanwhile: a destroyed session is final, so our changes are dropped, never resurrected.
      this.#reset();
      return;
    }
    this.#loaded = outcome.loaded;
    this.#changes.reset();
    if (outcome.kind === 'saved') {
      this.#wrote = true;
      if (this.#ctx.cookie.persistent) this.#issueCookie();
      // A bound session's user index must live as long as it does; an anonymous one has none.
      if (outcome.loaded.record.userId !== undefined) await this.#extendUserIndex();
    } else {
      // Setting a key to the value it already had writes nothing.
      await this.#touchIfDue();
    }
  }

  async #regenerate(
    login: { userId: string; keep: ReadonlySet<string> } | undefined,
  ): Promise<void> {
    this.#hold();
    await this.#load();
    const old = this.#loaded;
    const data = this.#changes.applyTo(old?.record.data);
    if (login !== undefined)
      for (const key of [...data.keys()]) if (!login.keep.has(key)) data.delete(key);
    this.#reset();
    const origin: Origin =
      login !== undefined
        ? { kind: 'login', userId: login.userId }
        : old === undefined
          ? { kind: 'anonymous' }
          : { kind: 'regenerate', previous: old };
    await this.#create(data, origin);
    if (old !== undefined) {
      const oldWasLive = await this.#ctx.store.delete(old.key);
      // A regenerate moved the old slot to the new record: freeing it would unlist the new session.
      const moved = origin.kind === 'regenerate' && old.record.slot !== undefined;
      if (oldWasLive && old.record.userId !== undefined && !moved) {
        await this.#ctx.users.unbind(old.record.userId, old.record.slot, old.key);
      }
      // The old session was ended meanwhile (destroy, log out everywhere): its successor must not outlive it.
      // Not after login(): that session rests on a fresh authentication, and the per-user cap may have just ended the old one.
      if (!oldWasLive && origin.kind !== 'login' && this.#loaded !== undefined) {
        await deleteCreated(this.#ctx, this.#loaded);
        this.#reset();
      }
    }
    // Even with nothing to store, the old cookie must not survive a privilege change.
    if (this.#loaded === undefined && old !== undefined) this.#cookie = CLEAR_COOKIE;
  }

  async #touchIfDue(): Promise<void> {
    const loaded = this.#loaded;
    if (loaded === undefined) return;
    if (!this.#touchDue(loaded)) return;
    const target = deadlineOf(this.#ctx, this.#ctx.now(), loaded.record.createdAt);
    if (await this.#ctx.store.touch(loaded.key, target)) {
      this.#loaded = { ...loaded, entry: { value: loaded.entry.value, expiresAt: target } };
      this.#wrote = true;
      if (this.#ctx.cookie.persistent) this.#issueCookie();
      await this.#extendUserIndex();
    } else {
      this.#reset();
    }
  }

  /** A bound session's expiry just moved forward: its user's index must live at least as long, or "log out everywhere" would miss it. */
  async #extendUserIndex(): Promise<void> {
    const loaded = this.#loaded;
    if (loaded?.record.userId === undefined) return;
    const { userId, slot, createdAt } = loaded.record;
    if (await this.#ctx.users.extend(userId, slot, loaded.key, createdAt + this.#ctx.absoluteMs))
      return;
    // Its slot is gone, so it was ended everywhere meanwhile: a session its user's index cannot find must not live on.
    await this.#ctx.store.delete(loaded.key);
    this.#reset();
    this.#cookie = CLEAR_COOKIE;
  }

  #issueCookie(): void {
    const loaded = this.#loaded;
    if (loaded === undefined || this.#id === undefined) return;
    const maxAgeMs = this.#ctx.cookie.persistent
      ? loaded.entry.expiresAt - this.#ctx.now()
      : undefined;
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
  return (
    isKvSessionError(err, 'ERR_KVSESSION_STORE_UNAVAILABLE') ||
    isKvSessionError(err, 'ERR_KVSESSION_STORE_TIMEOUT')
  );
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') {
    throw new KvSessionError(
      'ERR_KVSESSION_NOT_SERIALIZABLE',
      'session keys must be non-empty strings',
    );
  }
}
