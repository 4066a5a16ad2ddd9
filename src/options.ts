import type Keyv from 'keyv';
import type { CookieOptions, ResolvedCookieOptions } from './cookie.js';
import type { Duration } from './duration.js';
import type { SessionStore } from './store.js';
import type { UserIdFrom } from './context.js';
import type { MigrateOptions } from './migrate.js';
import { resolveCookieOptions } from './cookie.js';
import { parseDuration } from './duration.js';
import { KvSessionError } from './errors.js';
import { Signer } from './signer.js';
import type { RecordCodec } from './record-codec.js';
import { PLAIN_CODEC, SealingCodec } from './record-codec.js';
import { DEFAULT_PREFIX } from './store.js';
import type { StoreEventListener } from './store-events.js';

/** Options of kvSession(); every one but `secret` has a default. */
export interface KvSessionOptions {
  /** Signing secret(s), each ≥ 32 characters; the first signs, all verify (rotation). Required. */
  secret: string | readonly string[] | undefined;
  /** A store URL, a store object or a Keyv instance. @default 'memory://' */
  store?: string | SessionStore | Keyv;
  /** Cookie attributes. */
  cookie?: CookieOptions;
  /** A session unused this long is gone. @default '24h' */
  idleTimeout?: Duration;
  /** A session older than this is gone however active it is. @default '7d' */
  absoluteTimeout?: Duration;
  /** A read-only request extends the idle deadline only when it gains at least this much. @default idleTimeout / 10 */
  touchInterval?: Duration;
  /** Every store operation settles within this many ms. @default 2000 */
  storeTimeout?: number;
  /** `'error'`: 503 through next(err); `'anonymous'`: an empty, never-saved session with `degraded === true`. @default 'error' */
  onStoreError?: 'error' | 'anonymous';
  /** A save whose serialized record exceeds this many bytes fails with ERR_KVSESSION_TOO_LARGE. @default 65536 */
  maxSessionBytes?: number;
  /**
   * Beyond this many sessions of one user, login() ends that user's oldest. `false` or `Infinity`: no cap.
   * @default 100
   */
  maxSessionsPerUser?: number | false;
  /** How often expired records are pruned in the background on stores without native expiry. @default '1h' */
  pruneInterval?: Duration | false;
  /** Namespace inside the store, for stores built from a URL or a Keyv. @default 'sess:' */
  prefix?: string;
  /**
   * Encrypt and authenticate every record (AES-256-GCM, key derived from the secret, bound to the
   * record's store key): a leaked store reveals no data or user ids; a forged or moved record is no session.
   * @default false
   */
  sealRecords?: boolean;
  /** Called with every store operation's latency and outcome, each save conflict and each prune (docs/observability.md). */
  onStoreEvent?: StoreEventListener;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /**
   * Finds the user a session belongs to in its data, on every save that writes, and binds the session to that user
   * in the per-user index (as login() does, without regenerating); undefined leaves the binding as it is.
   * E.g. `(data) => data.passport?.user` for Passport. @default undefined (only login() binds)
   */
  userIdFrom?: UserIdFrom;
  /** Zero-logout switch from express-session: old cookies whose record is in `migrate.store` move into kvsession. */
  migrate?: MigrateOptions;
}

/** Options after validation and defaults, store not yet built. */
export interface ResolvedOptions {
  readonly signer: Signer;
  readonly store: string | SessionStore | Keyv;
  readonly cookie: ResolvedCookieOptions;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly touchMs: number;
  readonly storeTimeoutMs: number;
  readonly onStoreError: 'error' | 'anonymous';
  readonly maxSessionBytes: number;
  readonly maxSessionsPerUser: number;
  readonly pruneMs: number | false;
  /** How records are kept in the store: plain, or sealed (sealRecords). */
  readonly codec: RecordCodec;
  readonly prefix: string;
  readonly now: () => number;
  readonly userIdFrom: UserIdFrom | undefined;
  readonly onStoreEvent: StoreEventListener | undefined;
}

function secretList(secret: KvSessionOptions['secret']): string[] {
  return typeof secret === 'string' ? [secret] : [...(secret ?? [])];
}

/** Validates options once and fills in every default; throws coded errors on bad input. */
export function resolveOptions(options: KvSessionOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new KvSessionError(
      'ERR_KVSESSION_NO_SECRET',
      'kvSession(options) needs an options object with a `secret`. Generate one with `npx kvsession secret`.',
    );
  }
  const signer = new Signer(options.secret);
  const idleMs = parseDuration(options.idleTimeout ?? '24h', 'idleTimeout');
  const absoluteMs = parseDuration(options.absoluteTimeout ?? '7d', 'absoluteTimeout');
  const touchMs =
    options.touchInterval === undefined
      ? Math.ceil(idleMs / 10)
      : parseDuration(options.touchInterval, 'touchInterval');
  if (touchMs >= idleMs) {
    // Reads could then never extend the idle deadline: sessions would die mid-use however active they are.
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      `touchInterval (${touchMs} ms) must be shorter than idleTimeout (${idleMs} ms)`,
    );
  }
  const storeTimeoutMs = parseDuration(options.storeTimeout ?? 2000, 'storeTimeout');
  const maxSessionBytes = options.maxSessionBytes ?? 65536;
  if (!Number.isInteger(maxSessionBytes) || maxSessionBytes <= 0) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'maxSessionBytes must be a positive integer',
    );
  }
  const maxSessionsPerUser = resolveMaxSessionsPerUser(options.maxSessionsPerUser);
  const onStoreError = options.onStoreError ?? 'error';
  if (onStoreError !== 'error' && onStoreError !== 'anonymous') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      "onStoreError must be 'error' or 'anonymous'",
    );
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string')
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'prefix must be a string');
  if (options.sealRecords !== undefined && typeof options.sealRecords !== 'boolean') {
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'sealRecords must be true or false');
  }
  if (options.onStoreEvent !== undefined && typeof options.onStoreEvent !== 'function') {
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'onStoreEvent must be a function');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'now must be a function returning milliseconds since the epoch',
    );
  }
  if (options.userIdFrom !== undefined && typeof options.userIdFrom !== 'function') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'userIdFrom must be a function (data) => user id | undefined',
    );
  }
  return {
    signer,
    store: options.store ?? 'memory://',
    cookie: resolveCookieOptions(options.cookie),
    idleMs,
    absoluteMs,
    touchMs,
    storeTimeoutMs,
    onStoreError,
    maxSessionBytes,
    maxSessionsPerUser,
    pruneMs:
      options.pruneInterval === false
        ? false
        : parseDuration(options.pruneInterval ?? '1h', 'pruneInterval'),
    prefix,
    now: options.now ?? Date.now,
    onStoreEvent: options.onStoreEvent,
    // The Signer has validated the secrets: each is a string of at least 32 characters.
    codec:
      options.sealRecords === true ? new SealingCodec(secretList(options.secret)) : PLAIN_CODEC,
    userIdFrom: options.userIdFrom,
  };
}

/** The per-user cap: a positive integer, or Infinity when disabled. */
function resolveMaxSessionsPerUser(value: number | false | undefined): number {
  // OWASP asks for a limit on concurrent sessions per user; 100 is far above any real user's devices and browsers.
  if (value === undefined) return 100;
  if (value === false || value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'maxSessionsPerUser must be a positive integer, or false (or Infinity) for no cap',
    );
  }
  return value;
}
