import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionContext } from '../context.js';
import type { ResponseHold } from '../response-hold.js';
import type { CookieAction, Session } from '../session.js';
import type { ResolvedDropIn } from './options.js';
import { IS_STORED, RESERVE_ID } from '../session.js';
import { holdResponse, PENDING } from '../response-hold.js';
import { KvSessionError } from '../errors.js';
import { ExpressSession } from './session.js';
import { SessionCookie, clearCookieLine } from './cookie.js';
import { idMaker } from './genid.js';
import type { ChangeListener } from './write-watch.js';
import { WriteWatch, unwatched } from './write-watch.js';

/** What every request of one drop-in middleware shares. */
export interface DropInRuntime {
  readonly ctx: SessionContext;
  readonly options: ResolvedDropIn;
}

// A value JSON cannot express: always "changed", so the save reports it with ERR_KVSESSION_NOT_SERIALIZABLE.
const UNSERIALIZABLE = '\u0000unserializable';

/** The session key that keeps a cookie lifetime set per session (`req.session.cookie.maxAge = ...`). */
const COOKIE_KEY = 'cookie';

/**
 * One request's drop-in session: the kvsession Session underneath, the snapshot of what was
 * loaded (to find which top-level properties changed), and the response hold that saves them.
 * Both are set up only once something may change (see WriteWatch): a request that only reads
 * is neither compared nor held.
 */
export class RequestState implements ResponseHold, ChangeListener {
  readonly #rt: DropInRuntime;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #next: (err?: unknown) => void;
  /** Set by the middleware right after construction (the Session needs this object's arm()). */
  native!: Session;
  /** The session object behind `req.session` (its WriteWatch view). */
  #target: ExpressSession | undefined;
  #view: ExpressSession | undefined;
  #watch: WriteWatch | undefined;
  /** The stored per-session cookie lifetime, kept out of the session's own properties. */
  #loadedLifetime: unknown;
  /** JSON text of each property as loaded or last saved; taken before the first change. */
  #snapshot: Map<string, string> | undefined;
  #held = false;
  #idRead = false;
  #destroyed = false;

  constructor(
    rt: DropInRuntime,
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) {
    this.#rt = rt;
    this.#req = req;
    this.#res = res;
    this.#next = next;
  }

  /** The middleware's resolved options. */
  get options(): ResolvedDropIn {
    return this.#rt.options;
  }

  /** Builds the session object for `data` (as loaded), makes its watched view `req.session` and returns the object. */
  install(data: Readonly<Record<string, unknown>>): ExpressSession {
    this.#snapshot = undefined;
    this.#loadedLifetime = data[COOKIE_KEY];
    const saved = data[COOKIE_KEY] as { originalMaxAge?: unknown } | undefined;
    const maxAge =
      typeof saved?.originalMaxAge === 'number'
        ? saved.originalMaxAge
        : this.#rt.options.cookie.maxAge;
    const session = new ExpressSession(
      data,
      new SessionCookie(this.#rt.options.cookie, maxAge, Date.now()),
    );
    this.#target = session;
    this.#view = (this.#watch ??= new WriteWatch(this)).watch(session);
    const req = this.#req as { session?: unknown; sessionID?: string };
    req.session = this.#view;
    if (this.native[IS_STORED] && !Object.hasOwn(req, 'sessionID')) {
      // A stored session's ID is known: a plain property, cheaper on every request than an accessor.
      req.sessionID = this.native.id as string;
    } else {
      // A new session's ID is made when first read, which also marks it as used (saveUninitialized).
      Object.defineProperty(req, 'sessionID', {
        configurable: true,
        enumerable: true,
        get: () => (req.session === undefined ? undefined : this.id()),
      });
    }
    return session;
  }

  /** The session may be about to change: WriteWatch calls this before the change lands. */
  changing(): void {
    this.arm();
  }

  /** Takes the baseline to compare against (before any change lands) and holds the response until commit() has run. */
  arm(): void {
    if (this.#snapshot === undefined && this.#target !== undefined)
      this.#snapshot = this.#baseline(this.#target);
    if (this.#held) return;
    this.#held = true;
    holdResponse(this.#res, this);
  }

  /** The session's ID: the stored one, else the one a new session will be saved under. */
  id(): string {
    this.#idRead = true;
    // A new session whose ID was seen is saved (saveUninitialized), so its response must wait for that.
    if (!this.native[IS_STORED]) this.arm();
    return this.native[RESERVE_ID](idMaker(this.#rt.options.genid, this.#req));
  }

  /** Saves `session`'s changes now. */
  async save(session: ExpressSession): Promise<void> {
    this.#flush(unwatched(session));
    await this.native.save();
  }

  /** Ends the current session and installs a new, empty one (express-session's regenerate). */
  async regenerate(session: ExpressSession): Promise<void> {
    await this.native.destroy();
    const previous = unwatched(session);
    const fresh = this.install({});
    fresh.cookie.originalMaxAge = previous.cookie.originalMaxAge;
    fresh.resetMaxAge();
  }

  /** Deletes the session and unsets `req.session`. */
  async destroy(_session: ExpressSession): Promise<void> {
    this.#destroyed = true;
    (this.#req as { session?: unknown }).session = undefined;
    Object.defineProperty(this.#req, 'sessionID', {
      configurable: true,
      enumerable: true,
      writable: true,
      value: undefined,
    });
    await this.native.destroy();
  }

  /** Re-reads the stored session into `session`, dropping its unsaved changes. */
  async reload(session: ExpressSession): Promise<void> {
    await this.native.reload();
    if (!this.native[IS_STORED]) {
      throw new KvSessionError(
        'ERR_KVSESSION_DESTROYED',
        'the session to reload is no longer in the store',
        { status: 401 },
      );
    }
    const data = await this.native.all();
    this.#snapshot = snapshotOf(data);
    ExpressSession.replaceData(unwatched(session), data);
  }

  /** Properties can change without any call to observe: whether anything changed is known only by commit(). */
  settled(): typeof PENDING {
    return PENDING;
  }

  /** The response is about to start: saves what changed and resolves the Set-Cookie line, if any. */
  async commit(): Promise<string | undefined> {
    const { options } = this.#rt;
    const current = (this.#req as { session?: unknown }).session;
    const session = current === this.#view ? this.#target : undefined;
    if (session === undefined) {
      // `req.session = null`: 'keep' drops this request's changes, 'destroy' ends the stored session.
      if (!this.#destroyed && (options.unset === 'keep' || !this.native[IS_STORED]))
        return undefined;
      if (!this.#destroyed) await this.native.destroy();
      return this.#line(await this.native.commit(), undefined, false);
    }
    const modified = this.#flush(session);
    if (
      !this.native[IS_STORED] &&
      modified === false &&
      options.saveUninitialized &&
      this.#idRead
    ) {
      // The app has seen this new session's ID (CSRF binding, socket rooms...): it must survive, as with express-session.
      this.native.set(
        COOKIE_KEY as never,
        { originalMaxAge: session.cookie.originalMaxAge } as never,
      );
    }
    return this.#line(await this.native.commit(), session, modified);
  }

  /** Hands a failed save to Express's error handling. */
  fail(err: unknown): void {
    this.#next(
      err instanceof KvSessionError
        ? err
        : new KvSessionError('ERR_KVSESSION_STORE_UNAVAILABLE', String(err), {
            status: 503,
            cause: err,
          }),
    );
  }

  /** Records each top-level property that differs from the snapshot as a change of the native session. */
  #flush(session: ExpressSession): boolean {
    const native = this.native as unknown as {
      set(key: string, value: unknown): void;
      delete(key: string): void;
    };
    const snapshot = (this.#snapshot ??= this.#baseline(session));
    let modified = false;
    for (const key of Object.keys(session)) {
      if (key === COOKIE_KEY) continue;
      const value = session[key];
      if (value === undefined) continue;
      const text = toJson(value);
      if (snapshot.get(key) === text) continue;
      native.set(key, value);
      snapshot.set(key, text);
      modified = true;
    }
    // Deleting the current entry while iterating a Map is safe: iteration goes on with the next one.
    for (const key of snapshot.keys()) {
      if (key === COOKIE_KEY || (Object.hasOwn(session, key) && session[key] !== undefined))
        continue;
      native.delete(key);
      snapshot.delete(key);
      modified = true;
    }
    const lifetime =
      session.cookie.originalMaxAge === this.#rt.options.cookie.maxAge
        ? undefined
        : { originalMaxAge: session.cookie.originalMaxAge };
    const lifetimeText = lifetime === undefined ? undefined : toJson(lifetime);
    if (
      lifetimeText !== snapshot.get(COOKIE_KEY) &&
      (lifetime !== undefined || this.native[IS_STORED])
    ) {
      if (lifetime === undefined) native.delete(COOKIE_KEY);
      else native.set(COOKIE_KEY, lifetime);
      if (lifetimeText === undefined) snapshot.delete(COOKIE_KEY);
      else snapshot.set(COOKIE_KEY, lifetimeText);
      modified = true;
    }
    return modified;
  }

  /** The JSON text of each data property of `session` and of the stored cookie lifetime: what changes are found against. */
  #baseline(session: ExpressSession): Map<string, string> {
    const out = new Map<string, string>();
    for (const key of Object.keys(session)) {
      if (key !== COOKIE_KEY) out.set(key, toJson(session[key]));
    }
    if (this.#loadedLifetime !== undefined) out.set(COOKIE_KEY, toJson(this.#loadedLifetime));
    return out;
  }

  /** The Set-Cookie line for what the commit did, following express-session's rules for when to send one. */
  #line(
    action: CookieAction,
    session: ExpressSession | undefined,
    modified: boolean,
  ): string | undefined {
    const { options, ctx } = this.#rt;
    if (action.kind === 'clear') return clearCookieLine(options.name, options.cookie);
    if (session === undefined) return undefined;
    const id = !this.native[IS_STORED] ? undefined : this.native.id;
    if (id === undefined) return undefined;
    const resend =
      action.kind === 'set' || options.rolling || (session.cookie.expires !== null && modified);
    if (!resend) return undefined;
    const value = action.kind === 'set' ? action.value : ctx.signer.sign(id);
    return session.cookie.serialize(options.name, value, this.#req, options.proxy);
  }
}

/** The JSON text of every property of `data`, the baseline changes are found against. */
function snapshotOf(data: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of Object.keys(data)) out.set(key, toJson(data[key]));
  return out;
}

function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? UNSERIALIZABLE;
  } catch {
    return UNSERIALIZABLE;
  }
}
