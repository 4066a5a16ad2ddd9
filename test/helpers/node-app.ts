import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { kvSession } from '../../src/index.js';
import type { KvSessionMiddleware, SessionRequest } from '../../src/middleware.js';
import { Client, TEST_SECRET, closeWhenTestEnds, seenError } from './app.js';
import type { SeenError, TestSessionOptions } from './app.js';
import { matchRoute } from './suite-routes.js';
import type { SuiteRoute } from './suite-routes.js';

/** A plain node:http server with kvSession called by hand; closed when the test ends. */
export interface NodeTestApp {
  readonly url: string;
  readonly sessions: KvSessionMiddleware;
  /** Errors kvsession or a route handed to the server's error path, in order. */
  readonly errors: SeenError[];
  client(): Client;
  close(): Promise<void>;
}

/**
 * Starts a node:http server (no Express) that runs `sessions(req, res, next)` and then the matching
 * route, answering JSON; an error answers `{ code }` with its status, as startApp's error handler does.
 */
export async function startNodeApp(options: {
  session?: TestSessionOptions;
  routes: readonly SuiteRoute[];
}): Promise<NodeTestApp> {
  const sessions = kvSession({ secret: TEST_SECRET, pruneInterval: false, ...options.session });
  const errors: SeenError[] = [];
  const fail = (res: ServerResponse, err: unknown): void => {
    const seen = seenError(err);
    errors.push(seen);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(seen.status ?? 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: seen.code ?? 'UNKNOWN' }));
  };
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    sessions(req, res, (err) => {
      if (err !== undefined) return fail(res, err);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const found = matchRoute(options.routes, req.method ?? 'GET', url.pathname);
      if (found === undefined) {
        res.writeHead(404).end();
        return;
      }
      found.route.handle((req as SessionRequest).session, found.params).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (e: unknown) => fail(res, e),
      );
    });
  };
  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = closeWhenTestEnds(server, sessions);
  return { url, sessions, errors, client: () => new Client(url), close };
}
