import { KvSessionError } from './errors.js';
import { handleFor, isSessionId, storeKeyFor } from './id.js';

/** Options of `req.session.login()`. */
export interface LoginOptions {
  /** Keys of the pre-login data to carry into the authenticated session; everything else is dropped. @default [] */
  keep?: readonly string[];
}

/** Options of `destroyUserSessions()`. */
export interface DestroyUserSessionsOptions {
  /** The session to spare: its `handle` (from listUserSessions or `req.session.handle`) or the current `req.session.id`. */
  except?: string;
}

// handleFor() output: 22 base64url characters (132 bits of SHA-256).
const HANDLE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * The user id as the index keys it. Only non-empty strings and finite numbers name a user: `String()` of
 * undefined, null or an object would make every such caller the same principal ("undefined", "[object Object]").
 */
export function checkUserId(userId: unknown, where: string): string {
  if (
    (typeof userId === 'string' && userId !== '') ||
    (typeof userId === 'number' && Number.isFinite(userId))
  )
    return String(userId);
  throw badArgument(
    `${where} needs a user id that is a non-empty string or a finite number, got ${describe(userId)}`,
  );
}

/** The keys login() keeps, validated. */
export function checkKeep(options: unknown): ReadonlySet<string> {
  if (options === undefined) return new Set();
  if (options === null || typeof options !== 'object')
    throw badArgument('login(userId, options) needs options to be an object');
  const keep = (options as { keep?: unknown }).keep;
  if (keep === undefined) return new Set();
  if (!Array.isArray(keep) || !keep.every((k): k is string => typeof k === 'string' && k !== '')) {
    throw badArgument('login(userId, { keep }) needs keep to be an array of non-empty key names');
  }
  return new Set(keep);
}

/**
 * The handle destroyUserSessions must spare, or undefined to end every session. `except` may be a handle or a
 * session ID; an `except` that is present but undefined (e.g. `req.session.id` of a session not loaded yet) or
 * anything else is an error, because treating it as absent would end the caller's own session too.
 */
export function resolveExcept(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object')
    throw badArgument('destroyUserSessions(userId, options) needs options to be an object');
  if (!('except' in options)) return undefined;
  const except = (options as { except?: unknown }).except;
  if (typeof except === 'string' && HANDLE_PATTERN.test(except)) return except;
  if (typeof except === 'string' && isSessionId(except)) return handleFor(storeKeyFor('', except));
  throw badArgument(
    `destroyUserSessions(userId, { except }) needs a session handle or session id, got ${describe(except)}; omit \`except\` to end every session`,
  );
}

/** What was passed, for a message: its type only, so no value (an ID, a secret) ever lands in a log. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'string') return x === '' ? 'an empty string' : 'a string of another shape';
  if (typeof x === 'number') return String(x);
  return Array.isArray(x) ? 'an array' : typeof x;
}

function badArgument(message: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_BAD_ARGUMENT', message);
}
