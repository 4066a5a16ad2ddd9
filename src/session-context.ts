import type { ResolvedOptions } from './options.js';
import type { SessionContext } from './context.js';
import type { SessionStore } from './store.js';
import type { SessionInfo } from './user-index.js';
import { resolveStore } from './create-store.js';
import { guardStore } from './guarded-store.js';
import { UserIndex } from './user-index.js';
import { VerifiedCookies } from './verified-cookies.js';
import { BoundedCache } from './bounded-cache.js';
import { startPruner } from './pruner.js';

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
  /** Ends every session of a user, or all but the one whose handle is `except`; resolves how many. */
  destroyUserSessions(userId: string | number, options?: { except?: string | undefined }): Promise<number>;
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
  const rawStore = resolveStore(resolved.store, { prefix: resolved.prefix, timeout: resolved.storeTimeoutMs });
  const store = guardStore(rawStore, resolved.storeTimeoutMs);
  // Connect now rather than inside the first request's storeTimeout; errors surface on real use.
  rawStore.warm?.().catch(() => undefined);
  if (rawStore.name === 'memory' && process.env['NODE_ENV'] === 'production' && !warnedMemoryInProduction) {
    warnedMemoryInProduction = true;
    process.emitWarning('kvsession: the memory store loses every session on restart and is not shared between processes; set `store` to a sqlite://, redis:// or postgres:// URL in production.');
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
    now: resolved.now,
    // The index outlives each session by storeTimeout: enough for two index extensions landing out of order.
    users: new UserIndex(store, resolved.idleMs, resolved.now, resolved.storeTimeoutMs),
    records: new BoundedCache(RECORDS_REMEMBERED),
    userIdFrom: resolved.userIdFrom,
  };
  const pruner =
    resolved.pruneMs === false || rawStore.capabilities.nativeExpiry
      ? undefined
      : startPruner(store, resolved.pruneMs, (err) => process.emitWarning(`kvsession: background prune failed: ${String(err)}`));
  const manager: KvSessionManager = {
    store,
    prune: () => store.prune(),
    async close() {
      await pruner?.stop();
      await store.close();
    },
    listUserSessions: (userId) => ctx.users.list(String(userId)),
    destroyUserSessions: (userId, opts = {}) => ctx.users.destroyAll(String(userId), opts.except),
  };
  return { ctx, manager };
}
