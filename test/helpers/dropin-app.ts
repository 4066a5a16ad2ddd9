import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { onTestFinished } from 'vitest';
import { session } from '../../src/express-session/index.js';
import type {
  ExpressSessionMiddleware,
  ExpressSessionOptions,
} from '../../src/express-session/index.js';
import type { SessionStore } from '../../src/store.js';
import { Client } from './app.js';
import type { SeenError } from './app.js';
import { STORES_UNDER_TEST } from './stores.js';
import type { StoreUnderTest } from './stores.js';

/** A secret long enough for kvsession (express-session READMEs use 'keyboard cat', which kvsession refuses). */
export const DROPIN_SECRET = 'keyboard cat keyboard cat keyboard cat 0123456789';

/** The stores the drop-in is tested on (issue 19: memory, SQLite, Redis, Postgres). */
export const DROPIN_STORES: readonly StoreUnderTest[] = STORES_UNDER_TEST.filter((s) =>
  ['memory', 'sqlite', 'redis', 'postgres'].includes(s.name),
);

/** A running Express app with the drop-in mounted; closed when the test ends. */
export interface DropInApp {
  readonly url: string;
  readonly app: Express;
  readonly server: Server;
  readonly sessions: ExpressSessionMiddleware;
  readonly errors: SeenError[];
  /** A fresh client (own cookie jar). */
  client(): Client;
}

/** Options of startDropInApp. */
export interface DropInAppOptions {
  /** The store (default: a fresh memory store). */
  store?: SessionStore | ExpressSessionOptions['store'];
  /** Drop-in options besides `secret` and `store`. */
  session?: Omit<ExpressSessionOptions, 'secret' | 'store'> & {
    secret?: ExpressSessionOptions['secret'];
  };
  /** Middleware mounted before the session middleware (body parsers...). */
  before?: (app: Express) => void;
  /** Middleware and routes after it, wired as each library's README shows. */
  routes: (app: Express, sessions: ExpressSessionMiddleware) => void;
}

/** Starts Express 5 with `app.use(session({...}))` in front of `routes`, as an express-session app has it. */
export async function startDropInApp(options: DropInAppOptions): Promise<DropInApp> {
  const given = options.store as Partial<SessionStore> | undefined;
  // Connected before the first request, as an app's store is: on a machine shared with other test runs the
  // first connect can outlast a client's own 2 s connect timeout. A failure here shows up on real use.
  if (given !== undefined && typeof given === 'object' && typeof given.warm === 'function')
    await given.warm().catch(() => undefined);
  const sessions = session({
    secret: DROPIN_SECRET,
    resave: false,
    saveUninitialized: false,
    pruneInterval: false,
    // Other test processes share these servers and CPUs: a first connect can take seconds; no test asserts time.
    storeTimeout: 10_000,
    ...options.session,
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  const app = express();
  options.before?.(app);
  app.use(sessions);
  options.routes(app, sessions);
  const errors: SeenError[] = [];
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const { code, status } = err as { code?: unknown; status?: unknown };
    errors.push({
      code: typeof code === 'string' ? code : undefined,
      status: typeof status === 'number' ? status : undefined,
      error: err,
    });
    if (res.headersSent) return next(err);
    // As Express's final handler: the error's status, else one the middleware already set (lusca sets 403), else 500.
    const answer =
      typeof status === 'number' ? status : res.statusCode >= 400 ? res.statusCode : 500;
    res.status(answer).json({ code: typeof code === 'string' ? code : 'UNKNOWN' });
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Tests use a random prefix per store: clearing it leaves shared servers as they were.
    await sessions.store.clear?.().catch(() => undefined);
    await sessions.close();
  });
  return { url, app, server, sessions, errors, client: () => new Client(url) };
}

/** A POST with an application/x-www-form-urlencoded body. */
export function form(fields: Record<string, string>): {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
} {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}
