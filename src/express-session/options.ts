import type { IncomingMessage } from 'node:http';
import type Keyv from 'keyv';
import type { KvSessionOptions, ResolvedOptions } from '../options.js';
import type { SessionStore } from '../store.js';
import type { LegacyStore } from '../legacy-store.js';
import type { CookieDefaults, ExpressCookieOptions } from './cookie.js';
import { resolveOptions } from '../options.js';
import { KvSessionError } from '../errors.js';
import { isLegacyStore } from '../legacy-store.js';
import { legacyStoreAdapter } from './legacy-store-adapter.js';

/** Options of the express-session drop-in: express-session's, plus kvsession's where they do not overlap. */
export interface ExpressSessionOptions extends Omit<KvSessionOptions, 'cookie' | 'store'> {
  /** Cookie name. @default 'connect.sid' */
  name?: string;
  /** Cookie attributes, as express-session takes them. */
  cookie?: ExpressCookieOptions;
  /** A kvsession store URL, store or Keyv, or an express-session `Store` (connect-redis, ...: not atomic). @default 'memory://' */
  store?: string | SessionStore | Keyv | LegacyStore;
  /** Re-send the cookie (restarting `cookie.maxAge`) on every response of a session. @default false */
  rolling?: boolean;
  /** Save a new session nobody wrote to once its ID has been read (`req.sessionID`, `req.session.id`). @default true */
  saveUninitialized?: boolean;
  /** Only `false`: re-writing unmodified sessions would undo concurrent requests' changes. Refused when `true`. */
  resave?: boolean;
  /** What `req.session = null` (or `delete req.session`) means: keep the stored session, or destroy it. @default 'keep' */
  unset?: 'keep' | 'destroy';
  /** Trust X-Forwarded-Proto for `cookie.secure` (true), never (false), or follow Express's `trust proxy` (undefined). */
  proxy?: boolean;
  /** Makes the ID of a new session (at least 16 cookie-safe characters). @default 256 random bits, base64url */
  genid?: (req: IncomingMessage) => string;
}

/** The drop-in's options once validated: kvsession's core options plus the express-session-only ones. */
export interface ResolvedDropIn {
  readonly core: ResolvedOptions;
  readonly secret: KvSessionOptions['secret'];
  readonly name: string;
  readonly cookie: CookieDefaults;
  readonly rolling: boolean;
  readonly saveUninitialized: boolean;
  readonly unset: 'keep' | 'destroy';
  readonly proxy: boolean | undefined;
  readonly genid: ((req: IncomingMessage) => string) | undefined;
  /** The store is an express-session Store, wrapped without atomic writes. */
  readonly legacyStore: boolean;
}

/** Passport keeps the serialized user under `passport.user`: such sessions join the per-user index by default. */
export function passportUser(data: Readonly<Record<string, unknown>>): string | number | undefined {
  const passport = data['passport'];
  if (passport === null || typeof passport !== 'object') return undefined;
  const user = (passport as { user?: unknown }).user;
  return typeof user === 'string' || typeof user === 'number' ? user : undefined;
}

/** Validates express-session options once; throws ERR_KVSESSION_BAD_OPTION for what would break a kvsession guarantee. */
export function resolveDropInOptions(options: ExpressSessionOptions): ResolvedDropIn {
  if (options === null || typeof options !== 'object') {
    throw new KvSessionError(
      'ERR_KVSESSION_NO_SECRET',
      'session(options) needs an options object with a `secret`. Generate one with `npx kvsession secret`.',
    );
  }
  if (options.resave === true) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'resave: true is refused: writing back unmodified sessions would undo the changes of concurrent requests. Use resave: false; kvsession extends idle sessions itself (touchInterval).',
    );
  }
  const {
    name = 'connect.sid',
    cookie = {},
    rolling = false,
    saveUninitialized = true,
    unset = 'keep',
    proxy,
    genid,
    store,
    ...core
  } = options;
  if ((cookie as { expires?: unknown }).expires != null) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'cookie.expires is refused: one fixed date for every session is a bug; use cookie.maxAge',
    );
  }
  if (unset !== 'keep' && unset !== 'destroy')
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', "unset must be 'keep' or 'destroy'");
  if (genid !== undefined && typeof genid !== 'function')
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'genid must be a function (req) => string',
    );
  const maxAge = cookie.maxAge ?? null;
  if (maxAge !== null && (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'cookie.maxAge must be a positive number of ms, or null',
    );
  }
  const sameSite = cookie.sameSite === true ? 'strict' : (cookie.sameSite ?? 'lax');
  const legacyStore = isLegacyStore(store);
  const resolved = resolveOptions({
    // The session lives as long as its cookie, as in express-session, unless idleTimeout says otherwise.
    ...(maxAge === null
      ? {}
      : { idleTimeout: maxAge, absoluteTimeout: Math.max(maxAge, 7 * 24 * 3600_000) }),
    userIdFrom: passportUser,
    ...core,
    store: legacyStore
      ? legacyStoreAdapter(store, core.prefix, core.storeTimeout ?? 2000)
      : (store ?? 'memory://'),
    // kvsession's own cookie handling is not used by the drop-in; these only validate the shared attributes.
    cookie: {
      name,
      path: cookie.path ?? '/',
      ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
      httpOnly: cookie.httpOnly ?? true,
      secure: cookie.secure ?? false,
      ...(sameSite === false ? {} : { sameSite }),
    },
  });
  return {
    core: resolved,
    secret: options.secret,
    name,
    cookie: {
      maxAge,
      path: resolved.cookie.path,
      domain: resolved.cookie.domain,
      httpOnly: resolved.cookie.httpOnly,
      secure: resolved.cookie.secure,
      sameSite: sameSite === false ? false : resolved.cookie.sameSite,
      partitioned: cookie.partitioned === true,
      priority: cookie.priority,
    },
    rolling: rolling === true,
    saveUninitialized: saveUninitialized !== false,
    unset,
    proxy,
    genid,
    legacyStore,
  };
}
