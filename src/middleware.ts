import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { KvSessionOptions } from './options.js';
import type { SessionContext } from './context.js';
import type { KvSessionManager } from './session-context.js';
import type { CookieAction } from './session.js';
import { resolveOptions } from './options.js';
import { createSessionRuntime } from './session-context.js';
import { createMigration } from './migrate.js';
import { Session } from './session.js';
import { holdResponseUntil } from './response-hook.js';
import type { ResponseHold } from './response-hook.js';
import { serializeSessionCookie } from './cookie.js';
import { KvSessionError } from './errors.js';

export type { KvSessionManager } from './session-context.js';
// Types `req.session` as kvsession's Session wherever kvSession() is imported.
export type { RequestSession } from './express-request.js';

/** The Express middleware plus its management API. */
export type KvSessionMiddleware = RequestHandler & KvSessionManager;

/** Creates the session middleware; throws coded errors for a missing/weak secret or bad options. */
export function kvSession(options: KvSessionOptions): KvSessionMiddleware {
  const resolved = resolveOptions(options);
  const { ctx, manager } = createSessionRuntime(resolved);
  const migration = createMigration(ctx, options.migrate, options.secret, resolved.storeTimeoutMs);

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // The save hook is armed only when the session is first used: untouched requests pay nothing.
    const session = new Session(ctx, req, () => armSave(ctx, req, res, next));
    req.session = session;
    if (migration === undefined) return next();
    // Only a validly signed express-session cookie costs anything here (one old-store read, then the move).
    migration.run(req, res, session).then(() => next(), next);
  };

  return Object.assign(middleware, manager);
}

/** Holds the response back until the session is saved, then sets the cookie it calls for. */
function armSave(ctx: SessionContext, req: Request, res: Response, next: NextFunction): void {
  holdResponseUntil(res, new SaveBeforeResponse(ctx, req, next));
}

/** The save a held response waits for; one object rather than two closures per saved response. */
class SaveBeforeResponse implements ResponseHold {
  constructor(
    private readonly ctx: SessionContext,
    private readonly req: Request,
    private readonly next: NextFunction,
  ) {}

  /** Commits the session and resolves the Set-Cookie line it calls for. */
  async commit(): Promise<string | undefined> {
    const session: unknown = this.req.session;
    // `req.session = null` (express-session's unset idiom): the stored session is kept and this request's changes are not saved.
    if (!(session instanceof Session)) return undefined;
    return cookieLine(this.ctx, this.req, await session.commit());
  }

  /** Hands a failed save to Express's error handling as a coded 503. */
  fail(err: unknown): void {
    this.next(err instanceof KvSessionError ? err : new KvSessionError('ERR_KVSESSION_STORE_UNAVAILABLE', String(err), { status: 503, cause: err }));
  }
}

/** The Set-Cookie line a committed session calls for, if any. */
function cookieLine(ctx: SessionContext, req: Request, action: CookieAction): string | undefined {
  if (action.kind === 'none') return undefined;
  return action.kind === 'set'
    ? serializeSessionCookie(ctx.cookie, req, action.value, action.maxAgeMs)
    : serializeSessionCookie(ctx.cookie, req, '', 0);
}
