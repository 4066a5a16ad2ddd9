import { KvSessionError, storeUnavailable } from './errors.js';

/** A session record as express-session keeps it: the data plus its `cookie` settings. */
export interface LegacySessionData {
  // No index signatures: express-session's SessionData and Cookie are interfaces, which would not match one.
  cookie?:
    | { originalMaxAge?: number | null | undefined; expires?: string | Date | null | undefined }
    | undefined;
}

/** The callback API of an express-session `Store` (connect-redis, connect-pg-simple, MemoryStore...). */
export interface LegacyStore {
  /** Required by express-session: the record of `sid`, or null/undefined when there is none. */
  get(sid: string, callback: (err: unknown, session?: LegacySessionData | null) => void): void;
  /** Required by express-session: writes the record of `sid`. */
  set(sid: string, session: LegacySessionData, callback?: (err?: unknown) => void): void;
  /** Required by express-session: deletes the record of `sid`. */
  destroy(sid: string, callback?: (err?: unknown) => void): void;
  /** Recommended by express-session: extends the record's expiry. */
  touch?(sid: string, session: LegacySessionData, callback?: (err?: unknown) => void): void;
}

/** True when `value` looks like an express-session Store (get/set/destroy taking callbacks), not a kvsession store. */
export function isLegacyStore(value: unknown): value is LegacyStore {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  // kvsession stores have create/update; express-session stores have set and no capabilities.
  return (
    typeof v['get'] === 'function' &&
    typeof v['set'] === 'function' &&
    typeof v['destroy'] === 'function' &&
    v['capabilities'] === undefined
  );
}

/**
 * Calls one callback-style store method as a promise that settles within `timeoutMs`: an
 * express-session store has no timeout of its own, and a hung one must not hang the request.
 */
export function callLegacy<T>(
  what: string,
  timeoutMs: number,
  call: (done: (err: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new KvSessionError(
          'ERR_KVSESSION_STORE_TIMEOUT',
          `the express-session store did not answer ${what} within ${timeoutMs} ms`,
          { status: 503 },
        ),
      );
    }, timeoutMs);
    const done = (err: unknown, value?: T): void => {
      clearTimeout(timer);
      if (err !== null && err !== undefined) reject(storeUnavailable(err, what));
      else resolve(value);
    };
    try {
      call(done);
    } catch (err) {
      done(err === null || err === undefined ? new Error('store threw') : err);
    }
  });
}
