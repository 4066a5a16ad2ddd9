import type { StoreEntry } from './store.js';
import type { SessionData } from './types.js';
import type { SessionRecord } from './record.js';
import type { Bound } from './user-index.js';

// The types and markers shared by the Session class and the modules its work is split into.

/** The data shape: the app's augmented SessionData, or an open record when it has not augmented it. */
export type Data = keyof SessionData extends never ? Record<string, unknown> : SessionData;
/** A key of the session data. */
export type DataKey = keyof Data & string;

/** What the middleware must do to the response once the session has been committed. */
export type CookieAction =
  | { kind: 'none' }
  | { kind: 'set'; value: string; maxAgeMs: number | undefined }
  | { kind: 'clear' };
// Shared: every request starts with "no cookie change", and most end with it.
export const NO_COOKIE: CookieAction = Object.freeze({ kind: 'none' });
export const CLEAR_COOKIE: CookieAction = Object.freeze({ kind: 'clear' });

/** Reserves (and returns) the ID a session created in this request will get; for the express-session drop-in. */
export const RESERVE_ID = Symbol('kvsession.reserveId');
/** True while the session exists in the store (a cheap `handle !== undefined`); for the express-session drop-in. */
export const IS_STORED = Symbol('kvsession.isStored');
/** True when the request carries a validly signed session cookie; for the express-session drop-in. */
export const HAS_COOKIE = Symbol('kvsession.hasCookie');

/** The live state of a loaded session record. */
export interface Loaded {
  key: string;
  /** As the store holds it: compare-and-set compares this exact text. */
  entry: StoreEntry;
  /** The record's plain text (entry.value itself unless records are sealed). */
  plain: string;
  record: SessionRecord;
}

/** How a save ended: written, nothing to write, or the session was destroyed meanwhile. */
export type SaveOutcome = { kind: 'saved' | 'unchanged'; loaded: Loaded } | { kind: 'gone' };

/** A slot bound in `userId`'s index for a record userIdFrom is moving to that user. */
export type Claim = { userId: string; bound: Bound };

/** Where a new record comes from: a login (new user, new deadline) or a regenerate of `previous` (same user, deadline and slot). */
export type Origin =
  | { kind: 'anonymous' }
  | { kind: 'login'; userId: string }
  | { kind: 'regenerate'; previous: Loaded };
