import type { ResolvedOptions } from './options.js';
import type { SessionContext } from './context.js';
import type { SessionStore } from './store.js';
import { supports } from './store.js';
import type { SessionInfo } from './user-index.js';
import { resolveStore } from './store-source.js';
import { guardStore } from './guarded-store.js';
import { StoreEventSink } from './store-events.js';
import { UserIndex } from './user-index.js';
import { VerifiedCookies } from './verified-cookies.js';
import { SaveCoalescer } from './save-coalescer.js';
import { BoundedCache } from './bounded-cache.js';
import { startPruner } from './pruner.js';
import { isKvSessionError } from './errors.js';
import { redactSecrets } from './redact.js';
import type { DestroyUserSessionsOptions } from './user-args.js';
import { checkUserId, resolveExcept } from './user-args.js';

/** The management API carried by the middleware kvSession() returns. */
export interface KvSessionManager {
  /** The resolved store (bounded by storeTimeout). */
  readonly store: SessionStore;
  /** Deletes expired records now; resolves how many. */
  prune(): Promise<number>;
  /** Stops background pruning and closes the store's connections. */
  close(): Promise<void>;
  /** The live sessions bound to a user by login(): handles and times, never IDs. */
  listUserSessions(userId: string | number): Promise<SessionInfo[]>;
  /**
   * Ends every session of a user, or all but `except` (a handle or the current `req.session.id`); resolves how many.
   * An `except` that is present but is neither (including undefined) throws ERR_KVSESSION_BAD_ARGUMENT, never ends all.
   */
  destroyUserSessions(
    userId: string | number,
    options?: DestroyUserSessionsOptions,
  ): Promise<number>;
}

let warnedMemoryInProduction = false;
// Decoded records kept per middleware: 2 × 256 of at most 2 KB of text each.
const RECORDS_REMEMBERED = 256;

/** What one middleware instance runs on: the request-facing context and the management API over the same store. */
export interface SessionRuntime {
  readonly ctx: SessionContext;
  readonly manager: KvSessionManager;
}

/** Builds the store, context, background pruner and management API once per middleware (kvSession() and the drop-in). */
export function createSessionRuntime(resolved: ResolvedOptions): SessionRuntime {
  const rawStore = resolveStore(resolved.store, {
    prefix: resolved.prefix,
    timeout: resolved.storeTimeoutMs,
  });
  const events = StoreEventSink.create(resolved.onStoreEvent);
  const store = guardStore(rawStore, resolved.storeTimeoutMs, events);
  // Connect now rather than inside the first request's storeTimeout, and say at once, once, if that fails.
  rawStore.warm?.().catch((err: unknown) => reportStartFailure(rawStore.name, err));
  if (
    rawStore.name === 'memory' &&
    process.env['NODE_ENV'] === 'production' &&
    !warnedMemoryInProduction
  ) {
    warnedMemoryInProduction = true;
    process.emitWarning(
      'kvsession: the memory store loses every session on restart and is not shared between processes; set `store` to a sqlite://, redis:// or postgres:// URL in production.',
    );
  }
  const ctx: SessionContext = {
    store,
    signer: resolved.signer,
    cookies: new VerifiedCookies(resolved.signer, resolved.cookie.name),
    cookie: resolved.cookie,
    idleMs: resolved.idleMs,
    absoluteMs: resolved.absoluteMs,
    touchMs: resolved.touchMs,
    maxSessionBytes: resolved.maxSessionBytes,
    onStoreError: resolved.onStoreError,
    storeTimeoutMs: resolved.storeTimeoutMs,
    now: resolved.now,
    // The index outlives each session by storeTimeout: enough for two index extensions landing out of order.
    users: new UserIndex(store, resolved.idleMs, resolved.now, resolved.storeTimeoutMs, {
      absoluteMs: resolved.absoluteMs,
      maxPerUser: resolved.maxSessionsPerUser,
      codec: resolved.codec,
    }),
    codec: resolved.codec,
    records: new BoundedCache(RECORDS_REMEMBERED),
    saves: new SaveCoalescer(),
    userIdFrom: resolved.userIdFrom,
    events,
  };
  const pruner =
    resolved.pruneMs === false || rawStore.capabilities.nativeExpiry || !supports(store, 'prune')
      ? undefined
      : startPruner(store, resolved.pruneMs, (err) =>
          process.emitWarning(`kvsession: background prune failed: ${redactSecrets(String(err))}`),
        );
  const manager: KvSessionManager = {
    store,
    // A store without prune() keeps expired records until they are read (and then ignores them).
    prune: () => store.prune?.() ?? Promise.resolve(0),
    async close() {
      await pruner?.stop();
      await store.close();
    },
    listUserSessions: async (userId) =>
      ctx.users.list(checkUserId(userId, 'listUserSessions(userId)')),
    destroyUserSessions: async (userId, opts) =>
      ctx.users.destroyAll(checkUserId(userId, 'destroyUserSessions(userId)'), resolveExcept(opts)),
  };
  return { ctx, manager };
}

/**
 * Reports a store that could not start (driver missing, server unreachable) as one process warning
 * carrying the cause's own message: the npm install line, or the address it could not reach.
 */
function reportStartFailure(storeName: string, err: unknown): void {
  const detail = (err instanceof Error ? err.message : String(err)).replace(/^kvsession: /, '');
  const code = isKvSessionError(err) ? err.code : 'ERR_KVSESSION_STORE_UNAVAILABLE';
  process.emitWarning(`kvsession: the ${storeName} store could not start: ${detail}`, {
    type: 'KvSessionWarning',
    code,
  });
}
