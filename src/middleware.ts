import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvSessionOptions } from './options.js';
import type { SessionContext } from './context.js';
import type { KvSessionManager } from './session-context.js';
import { resolveOptions } from './options.js';
import { createSessionRuntime } from './session-context.js';
import { createMigration } from './migrate.js';
import { Session } from './session.js';
import type { CookieAction } from './session.js';
import { holdResponse, PENDING } from './response-hold.js';
import type { HoldableResponse, ResponseHold } from './response-hold.js';
import { serializeSessionCookie } from './cookie.js';

export type { KvSessionManager } from './session-context.js';
// Types `req.session` as kvsession's Session wherever kvSession() is imported.
export type { RequestSession } from './express-request.js';

/** Where the middleware hands errors: Express's `next`, or the app's own callback on plain `node:http`. */
export type KvSessionNext = (err?: unknown) => void;

/**
 * The middleware itself: Node's own request and response, so it fits Express 4 and 5, a plain
 * `node:http` handler and engine.io's `io.engine.use()`. `next(err)` may come a second time, after
 * the first `next()`, when a held response cannot be sent (see docs/response-hold.md).
 */
export type KvSessionHandler = (
  req: IncomingMessage,
  res: ServerResponse | HoldableResponse,
  next: KvSessionNext,
) => void;

/** The middleware plus its management API. */
export type KvSessionMiddleware = KvSessionHandler & KvSessionManager;

/** A request once kvSession() has run on it: what a plain `node:http` handler reads `session` from. */
export type SessionRequest = IncomingMessage & { session: Session };

/** Creates the session middleware; throws coded errors for a missing/weak secret or bad options. */
export function kvSession(options: KvSessionOptions): KvSessionMiddleware {
  const resolved = resolveOptions(options);
  const { ctx, manager } = createSessionRuntime(resolved);
  const migration = createMigration(ctx, options.migrate, options.secret, resolved.storeTimeoutMs);

  const middleware = (
    req: IncomingMessage,
    res: ServerResponse | HoldableResponse,
    next: KvSessionNext,
  ): void => {
    // Mounted twice, or behind another session middleware: the first one wins, as with express-session.
    if ((req as { session?: unknown }).session !== undefined) return next();
    // The response is held only when the session is first used: untouched requests pay nothing.
    const sessionReq = req as SessionRequest;
    const session = new Session(ctx, req, res, () =>
      holdResponse(res, new SessionSave(ctx, sessionReq, res, next)),
    );
    sessionReq.session = session;
    if (migration === undefined) return next();
    // Only a validly signed express-session cookie costs anything here (one old-store read, then the move).
    migration.run(req, res as ServerResponse, session).then(() => next(), next);
  };

  return Object.assign(middleware, manager);
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
    const session: unknown = this.req.session;
    // `req.session = null`: nothing of this request's is saved, so nothing to wait for.
    if (!(session instanceof Session)) return undefined;
    const action = session.settled();
    return action === undefined ? PENDING : cookieLine(this.ctx, this.req, action);
  }

  /** Commits the session and resolves the Set-Cookie line it calls for. */
  async commit(): Promise<string | undefined> {
    const session: unknown = this.req.session;
    // `req.session = null` (express-session's unset idiom): the stored session is kept and this request's changes are not saved.
    if (!(session instanceof Session)) return undefined;
    return cookieLine(this.ctx, this.req, await session.commit());
  }

  /** Hands the error to the app's error path unchanged: coded errors carry their own status (413, 503, 500). */
  fail(err: unknown): void {
    this.next(err);
    // Express's router takes this second next(err) to its error handlers; engine.io drops it (its chain
    // has moved on), which would leave the client waiting for good: answer then with the error's status.
    if ((this.res as { app?: unknown }).app === undefined)
      setImmediate(answerIfUnanswered, this.res, err);
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
function cookieLine(
  ctx: SessionContext,
  req: IncomingMessage,
  action: CookieAction,
): string | undefined {
  if (action.kind === 'none') return undefined;
  return action.kind === 'set'
    ? serializeSessionCookie(ctx.cookie, req, action.value, action.maxAgeMs)
    : serializeSessionCookie(ctx.cookie, req, '', 0);
}
