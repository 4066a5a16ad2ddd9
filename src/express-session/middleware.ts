import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvSessionManager } from '../session-context.js';
import type { ExpressSessionOptions } from './options.js';
import type { DropInRuntime } from './request-state.js';
import type { Migration } from '../migrate.js';
import { resolveDropInOptions } from './options.js';
import { createSessionRuntime } from '../session-context.js';
import { createMigration } from '../migrate.js';
import { HAS_COOKIE, IS_STORED, Session } from '../session.js';
import { RequestState } from './request-state.js';

/** The drop-in middleware, callable as Connect/Express middleware (and by socket.io's `io.engine.use`), plus the management API. */
export type ExpressSessionMiddleware = ((
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void) &
  KvSessionManager;

/**
 * express-session's middleware on kvsession: takes express-session's options and gives
 * express-session's `req.session`. A request with a validly signed cookie costs one store read
 * before the handlers run (they read properties synchronously); one without costs none.
 */
export function session(options: ExpressSessionOptions): ExpressSessionMiddleware {
  const resolved = resolveDropInOptions(options);
  const { ctx, manager } = createSessionRuntime(resolved.core);
  const runtime: DropInRuntime = { ctx, options: resolved };
  const migration = createMigration(
    ctx,
    options.migrate,
    resolved.secret,
    resolved.core.storeTimeoutMs,
  );
  const middleware = (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void => {
    // Mounted twice, or behind another session middleware: the first one wins, as with express-session.
    if ((req as { session?: unknown }).session !== undefined) return next();
    const state = new RequestState(runtime, req, res, next);
    const native = new Session(ctx, req, res, () => state.arm());
    state.native = native;
    if (migration !== undefined) {
      migrateThenStart(state, migration, req, res).then(next, next);
      return;
    }
    // Without a validly signed cookie there is nothing to read: the handlers run at once.
    if (!native[HAS_COOKIE]) {
      start(state, {});
      return next();
    }
    native.all().then((data) => {
      try {
        start(state, data);
      } catch (err) {
        return next(err);
      }
      next();
    }, next);
  };
  return Object.assign(middleware, manager);
}

/** With `migrate`: moves a validly signed express-session session first, then starts the request's session. */
async function migrateThenStart(
  state: RequestState,
  migration: Migration,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const native = state.native;
  const migrated = await migration.run(req, res, native);
  start(state, migrated || native[HAS_COOKIE] ? await native.all() : {});
}

/** Installs `req.session` over `data` (as loaded: one read, only for a validly signed cookie). */
function start(state: RequestState, data: Readonly<Record<string, unknown>>): void {
  state.install(data);
  // Otherwise the response is held only once the session may change (see WriteWatch): these two
  // act on every response of a stored session, whether or not it changed.
  const { rolling, unset } = state.options;
  if ((rolling || unset === 'destroy') && state.native[IS_STORED]) state.arm();
}
