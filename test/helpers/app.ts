import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { parseSetCookie } from 'cookie';
import type { SetCookie } from 'cookie';
import { onTestFinished } from 'vitest';
import { kvSession } from '../../src/index.js';
import type { KvSessionMiddleware } from '../../src/middleware.js';
import type { KvSessionOptions } from '../../src/options.js';

/** A valid test secret (≥ 32 characters). */
export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** kvSession options with the secret optional (defaults to TEST_SECRET). */
export type TestSessionOptions = Omit<KvSessionOptions, 'secret'> & {
  secret?: KvSessionOptions['secret'];
};

/** What the default error handler saw: one entry per error that reached it. */
export interface SeenError {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly error: unknown;
}

/** A running Express app with kvSession mounted; closed automatically when the test ends. */
export interface TestApp {
  readonly url: string;
  readonly app: Express;
  readonly sessions: KvSessionMiddleware;
  /** Errors that reached the app's error handler, in order. */
  readonly errors: SeenError[];
  /** A fresh client with its own cookie jar. */
  client(): Client;
  /** Stops the server and closes the session store (idempotent). */
  close(): Promise<void>;
}

/** Options of startApp. */
export interface StartAppOptions {
  /** kvSession options; `secret` defaults to TEST_SECRET, `pruneInterval` to false. */
  session?: TestSessionOptions;
  /** Registers the routes under test. */
  routes: (app: Express) => void;
  /** Express `trust proxy` setting. */
  trustProxy?: boolean | number | string;
  /** Leave the store open on close (when the test owns it). @default false */
  keepStore?: boolean;
}

/**
 * Starts an Express 5 app on an ephemeral port with kvSession in front of `routes`, and an error
 * handler that answers `{ code }` with the error's status. Must be called inside a test: the app
 * is closed when that test finishes.
 */
export async function startApp(options: StartAppOptions): Promise<TestApp> {
  const sessions = kvSession({ secret: TEST_SECRET, pruneInterval: false, ...options.session });
  const app = express();
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  app.use(sessions);
  options.routes(app);
  const errors: SeenError[] = [];
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const seen = seenError(err);
    errors.push(seen);
    if (res.headersSent) return next(err);
    res.status(seen.status ?? 500).json({ code: seen.code ?? 'UNKNOWN' });
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = closeWhenTestEnds(server, sessions, options.keepStore === true);
  return { url, app, sessions, errors, client: () => new Client(url), close };
}

/** What the error path saw of `err`: its code and status when it has them. */
export function seenError(err: unknown): SeenError {
  const { code, status } = err as { code?: unknown; status?: unknown };
  return {
    code: typeof code === 'string' ? code : undefined,
    status: typeof status === 'number' ? status : undefined,
    error: err,
  };
}

/**
 * Closes `server` when the running test finishes, then clears and closes the sessions' store unless
 * the test keeps it; resolves the idempotent close for the test to call earlier.
 */
export function closeWhenTestEnds(
  server: Server,
  sessions: KvSessionMiddleware,
  keepStore = false,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (keepStore) return;
      // Tests use a random prefix per store: clearing it leaves shared servers as they were.
      await sessions.store.clear?.().catch(() => undefined);
      await sessions.close();
    })();
    return closing;
  };
  onTestFinished(close);
  return close;
}

/** A response with its body read and its Set-Cookie headers parsed. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** Every Set-Cookie header, parsed. */
  readonly setCookies: SetCookie[];
  /** The raw Set-Cookie header lines. */
  readonly rawSetCookies: string[];
  /** The Set-Cookie for `name` (default 'sid'), if the response carried one. */
  cookie(name?: string): SetCookie | undefined;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/** Request options of Client. */
export interface ClientRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A tiny HTTP client with a cookie jar (name → value; path and domain ignored), using fetch with
 * `redirect: 'manual'` and explicit Cookie headers, so tests see exactly what the server sends.
 */
export class Client {
  readonly baseUrl: string;
  readonly jar = new Map<string, string>();

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** The jar's value for `name` (default 'sid'). */
  cookie(name = 'sid'): string | undefined {
    return this.jar.get(name);
  }

  /** A new client on the same server with a copy of this jar (a second tab of the same browser). */
  fork(): Client {
    const other = new Client(this.baseUrl);
    for (const [k, v] of this.jar) other.jar.set(k, v);
    return other;
  }

  /** Sends a request and resolves once headers arrive; the jar is updated, the body left unread. */
  async open(path: string, init: ClientRequest = {}): Promise<globalThis.Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size > 0 && headers['cookie'] === undefined) {
      headers['cookie'] = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const res = await fetch(this.baseUrl + path, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    for (const line of res.headers.getSetCookie()) this.#store(parseSetCookie(line));
    return res;
  }

  /** Sends a request and reads the whole response. */
  async request(path: string, init: ClientRequest = {}): Promise<Reply> {
    const res = await this.open(path, init);
    const body = await res.text();
    const rawSetCookies = res.headers.getSetCookie();
    const setCookies = rawSetCookies.map((line) => parseSetCookie(line));
    return {
      status: res.status,
      headers: res.headers,
      body,
      setCookies,
      rawSetCookies,
      cookie: (name = 'sid') => setCookies.find((c) => c.name === name),
      json: <T>() => JSON.parse(body) as T,
    };
  }

  /** GET `path`. */
  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(path, { headers });
  }

  /** POST `path`. */
  post(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(path, { method: 'POST', headers });
  }

  #store(c: SetCookie): void {
    const expired =
      c.maxAge !== undefined
        ? c.maxAge <= 0
        : c.expires !== undefined && c.expires.getTime() <= Date.now();
    if (expired || c.value === undefined || c.value === '') this.jar.delete(c.name);
    else this.jar.set(c.name, c.value);
  }
}

/** A promise with its resolve function exposed, for forcing an exact interleaving of requests. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

/** Creates a Deferred. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export { sleep } from './services.js';
