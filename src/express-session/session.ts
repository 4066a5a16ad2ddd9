import type { SessionCookie } from './cookie.js';
import type { RequestState } from './request-state.js';
import { KvSessionError } from '../errors.js';
import { LISTENER } from './write-watch.js';
import { setData } from '../serializer.js';

/** The callback express-session's session methods take. */
export type SessionCallback = (err?: unknown) => void;

/**
 * `req.session` of the drop-in, shaped as express-session's: the data as own enumerable
 * properties (read and written synchronously), `id`, `cookie`, and `regenerate/destroy/reload/save`
 * taking a callback (then returning the session, as express-session does) or returning a promise.
 * Changes are found at save time by comparing each top-level property with what was loaded.
 * `req.session` is this object seen through a WriteWatch proxy, whose traps give the methods
 * (which run on the proxy) the request's state.
 */
export class ExpressSession {
  [key: string]: unknown;
  /** The session cookie's settings; `cookie.maxAge = ms` makes this session's cookie last that long. */
  cookie: SessionCookie;

  /** Built by the middleware (and by regenerate) with the loaded data. */
  constructor(data: Readonly<Record<string, unknown>>, cookie: SessionCookie) {
    this.cookie = cookie;
    for (const key of Object.keys(data)) {
      if (key !== 'cookie') setData(this, key, data[key]);
    }
  }

  /** The session ID (a new session has one already, the one it will be saved under). */
  get id(): string {
    return stateOf(this).id();
  }

  /** Replaces the session with a new, empty one under a new ID; the old record is deleted at once. */
  regenerate(callback: SessionCallback): this;
  regenerate(): Promise<void>;
  regenerate(callback?: SessionCallback): this | Promise<void> {
    return settle(this, stateOf(this).regenerate(this), callback);
  }

  /** Deletes the session from the store and unsets `req.session`; the cookie is cleared. */
  destroy(callback: SessionCallback): this;
  destroy(): Promise<void>;
  destroy(callback?: SessionCallback): this | Promise<void> {
    return settle(this, stateOf(this).destroy(this), callback);
  }

  /** Re-reads the session from the store, dropping unsaved changes; fails with ERR_KVSESSION_DESTROYED when it is gone. */
  reload(callback: SessionCallback): this;
  reload(): Promise<void>;
  reload(callback?: SessionCallback): this | Promise<void> {
    return settle(this, stateOf(this).reload(this), callback);
  }

  /** Saves the changes now (normally automatic, before the response is sent). */
  save(callback: SessionCallback): this;
  save(): Promise<void>;
  save(callback?: SessionCallback): this | Promise<void> {
    return settle(this, stateOf(this).save(this), callback);
  }

  /** Restarts the cookie's lifetime (express-session does this on every request already). */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Sets `cookie.maxAge` back to its original lifetime. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  /** Replaces this object's data with `data` (reload). */
  static replaceData(session: ExpressSession, data: Readonly<Record<string, unknown>>): void {
    for (const key of Object.keys(session)) {
      if (key !== 'cookie') delete session[key];
    }
    for (const key of Object.keys(data)) {
      if (key !== 'cookie') setData(session, key, data[key]);
    }
  }
}

/** The request state behind a session's proxy (the methods and `id` run with the proxy as `this`). */
function stateOf(session: ExpressSession): RequestState {
  return (session as unknown as { [LISTENER]: RequestState })[LISTENER];
}

/** Hands `work` to the callback (never rejecting, so no unhandled rejection) or returns it as a promise. */
function settle<S extends ExpressSession>(
  session: S,
  work: Promise<void>,
  callback: SessionCallback | undefined,
): S | Promise<void> {
  if (callback === undefined) return work;
  if (typeof callback !== 'function') {
    work.catch(() => undefined);
    throw new KvSessionError(
      'ERR_KVSESSION_USAGE',
      'the session method callback must be a function',
    );
  }
  // Outside the promise chain: an exception thrown by the callback is the app's, as with express-session.
  work.then(
    () => queueMicrotask(() => callback()),
    (err: unknown) => queueMicrotask(() => callback(err)),
  );
  return session;
}
