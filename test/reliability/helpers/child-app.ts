// What every app child (test/reliability/children/*-app/-server.ts) shares: how it reads its store
// from the command line, the { code } error handler, and the `listening <port>` line its parent waits for.
import type { Express, NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { KvSessionMiddleware, KvSessionOptions, SessionStore } from '../../../src/index.js';
import { kvSession } from '../../../src/index.js';
import { createPostgresStore } from '../../../stores/postgres.js';

/** A child's command line: `<store URL> <prefix> [postgres table]`. */
export interface ChildArgs {
  readonly url: string;
  readonly prefix: string;
  /** The run-tagged table a postgres:// URL is served from (the parent drops it), never the default one. */
  readonly table: string | undefined;
}

/** Reads the child's command line. */
export function childArgs(): ChildArgs {
  const [url, prefix, table] = process.argv.slice(2) as [string, string, string | undefined];
  return { url, prefix, table };
}

/** The `store` option for the child's kvSession: the URL itself, or on Postgres a store on the parent's table. */
export function childStore(args: ChildArgs): string | SessionStore {
  if (args.table === undefined || !/^postgres(ql)?:/.test(args.url)) return args.url;
  return createPostgresStore({ url: args.url, table: args.table, prefix: args.prefix });
}

/** kvSession() on the child's store and prefix with the parent's secret, no background pruning, plus `options`. */
export function childSessions(
  args: ChildArgs,
  options: Partial<KvSessionOptions> = {},
): KvSessionMiddleware {
  return kvSession({
    secret: process.env['KVSESSION_TEST_SECRET'],
    store: childStore(args),
    prefix: args.prefix,
    pruneInterval: false,
    ...options,
  });
}

/**
 * Answers errors as `{ code }` with their status, listens on a free port of 127.0.0.1 and prints
 * `listening <port>` for the parent (test/reliability/helpers/app-children.ts).
 */
export function serveChildApp(app: Express): Server {
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { code, status } = err as { code?: unknown; status?: unknown };
    res
      .status(typeof status === 'number' ? status : 500)
      .json({ code: typeof code === 'string' ? code : 'UNKNOWN' });
  });
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(
      `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
    );
  });
  // Idle keep-alive sockets are closed after 5 s by default; the parent reuses them at any moment, and a
  // request sent on a socket the server is closing fails with "other side closed" before it reaches the app.
  server.keepAliveTimeout = 120_000;
  return server;
}
