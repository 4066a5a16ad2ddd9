import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvSessionOptions } from './options.js';
import type { SessionContext } from './context.js';
import type { SessionStore } from './store.js';
import { supports } from './store.js';
import type { SessionInfo } from './user-index.js';
import { resolveOptions } from './options.js';
import { resolveStore } from '../stores/index.js';
import { guardStore } from './guarded-store.js';
import { UserIndex } from './user-index.js';
import { VerifiedCookies } from './verified-cookies.js';
import { SaveCoalescer } from './save-coalescer.js';
import { BoundedCache } from './bounded-cache.js';
import { Session } from './session.js';
import type { CookieAction } from './session.js';
import { holdResponse, PENDING } from './response-hold.js';
import type { HoldableResponse, ResponseHold } from './response-hold.js';
import { serializeSessionCookie } from './cookie.js';
import { startPruner } from './pruner.js';
import { StoreEventSink } from './store-events.js';
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
  destroyUserSessions(userId: string | number, options?: DestroyUserSessionsOptions): Promise<number>;
}

/** Where the middleware hands errors: Express's `next`, or the app's own callback on plain `node:http`. */
export type KvSessionNext = (err?: unknown) => void;

/**
 * The middleware itself: Node's own request and response, so it fits Express 4 and 5, a plain
 * `node:http` handler and engine.io's `io.engine.use()`. `next(err)` may come a second time, after
 * the first `next()`, when a held response cannot be sent (see docs/response-hold.md).
 */
export type KvSessionHandler = (req: IncomingMessage, res: ServerResponse | HoldableResponse, next: KvSessionNext) => void;

/** The middleware plus its management API. */
export type KvSessionMiddleware = KvSessionHandler & KvSessionManager;

/** A request once kvSession() has run on it: what a plain `node:http` handler reads `session` from. */
export type SessionRequest = IncomingMessage & { session: Session };

let warnedMemoryInProduction = false;
// Decoded records kept per middleware: 2 × 256 of at most 2 KB of text each.
const RECORDS_REMEMBERED = 256;

/** Creates the session middleware; throws coded errors for a missing/weak secret or bad options. */
export function kvSession(options: KvSessionOptions): KvSessionMiddleware {
  const resolved = resolveOptions(options);
  const rawStore = resolveStore(resolved.store, { prefix: resolved.prefix, timeout: resolved.storeTimeoutMs });
  const events = StoreEventSink.create(resolved.onStoreEvent);
  const store = guardStore(rawStore, resolved.storeTimeoutMs, events);
  // Connect now rather than inside the first request's storeTimeout, and say at once, once, if that fails.
  rawStore.warm?.().catch((err: unknown) => reportStartFailure(rawStore.name, err));
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
    events,
  };
  const pruner =
    resolved.pruneMs === false || rawStore.capabilities.nativeExpiry || !supports(store, 'prune')
      ? undefined
      : startPruner(store, resolved.pruneMs, (err) =>
          process.emitWarning(`kvsession: background prune failed: ${redactSecrets(String(err))}`),
        );

  const middleware = (req: IncomingMessage, res: ServerResponse | HoldableResponse, next: KvSessionNext): void => {
    // The response is held only when the session is first used: untouched requests pay nothing.
    const sessionReq = req as SessionRequest;
    sessionReq.session = new Session(ctx, req, res, () => holdResponse(res, new SessionSave(ctx, sessionReq, res, next)));
    next();
  };

  const manager: KvSessionManager = {
    store,
    // A store without prune() keeps expired records until they are read (and then ignores them).
    prune: () => store.prune?.() ?? Promise.resolve(0),
    async close() {
      await pruner?.stop();
      await store.close();
    },
    listUserSessions: async (userId) => ctx.users.list(checkUserId(userId, 'listUserSessions(userId)')),
    destroyUserSessions: async (userId, opts) => ctx.users.destroyAll(checkUserId(userId, 'destroyUserSessions(userId)'), resolveExcept(opts)),
  };
  return Object.assign(middleware, manager);
}

/**
 * Reports a store that could not start (driver missing, server unreachable) as one process warning
 * carrying the cause's own message: the npm install line, or the address it could not reach.
 */
function reportStartFailure(storeName: string, err: unknown): void {
  const detail = (err instanceof Error ? err.message : String(err)).replace(/^kvsession: /, '');
  const code = isKvSessionError(err) ? err.code : 'ERR_KVSESSION_STORE_UNAVAILABLE';
  process.emitWarning(`kvsession: the ${storeName} store could not start: ${detail}`, { type: 'KvSessionWarning', code });
}

/** The save a held response waits for; one object rather than three closures per held response. */
class SessionSave implements ResponseHold {
  constructor(
    private readonly ctx: SessionContext,
    private readonly req: SessionRequest,
    private readonly res: HoldableResponse,
    private readonly next: KvSessionNext,
  ) {}

  /** The Set-Cookie line at once when the session has nothing left to do. */
  settled(): string | undefined | typeof PENDING {
    const action = this.req.session.settled();
    return action === undefined ? PENDING : cookieLine(this.ctx, this.req, action);
  }

  /** Commits the session and resolves the Set-Cookie line it calls for. */
  async commit(): Promise<string | undefined> {
    return cookieLine(this.ctx, this.req, await this.req.session.commit());
  }

  /** Hands the error to the app's error path unchanged: coded errors carry their own status (413, 503, 500). */
  fail(err: unknown): void {
    this.next(err);
    // Express's router takes this second next(err) to its error handlers; engine.io drops it (its chain
    // has moved on), which would leave the client waiting for good: answer then with the error's status.
    if ((this.res as { app?: unknown }).app === undefined) setImmediate(answerIfUnanswered, this.res, err);
  }
}

/** Ends a response nobody answered after a failed hold, with the error's status (no body, no details). */
function answerIfUnanswered(res: HoldableResponse, err: unknown): void {
  if (res.headersSent === true || res.writableEnded === true) return;
  const status = (err as { status?: unknown } | undefined)?.status;
  try {
    (res as { statusCode?: number }).statusCode = typeof status === 'number' ? status : 500;
    (res.end as () => unknown).call(res);
  } catch {
    (res as { destroy?: () => void }).destroy?.();
  }
}

/** The Set-Cookie line a committed session calls for, if any. */
function cookieLine(ctx: SessionContext, req: IncomingMessage, action: CookieAction): string | undefined {
  if (action.kind === 'none') return undefined;
  return action.kind === 'set'
    ? serializeSessionCookie(ctx.cookie, req, action.value, action.maxAgeMs)
    : serializeSessionCookie(ctx.cookie, req, '', 0);
}
