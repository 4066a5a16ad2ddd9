import express from 'express';
import type {
  ErrorRequestHandler,
  Express,
  NextFunction,
  Request,
  RequestHandler,
  Response,
} from 'express';
import type { KvSessionMiddleware } from '../src/middleware.js';
import type { SessionStore } from '../src/store.js';
import type { Duration } from '../src/duration.js';
import { kvSession } from '../src/index.js';
import { isKvSessionError } from '../src/errors.js';
import { renderError, renderHome } from './pages.js';

/** What the demo app is built from; server.ts fills it from the environment. */
export interface DemoOptions {
  /** Signing secret(s), each ≥ 32 characters. */
  readonly secret: string | readonly string[];
  /** A store URL or store object. */
  readonly store: string | SessionStore;
  /** Background prune interval. @default '1h' */
  readonly pruneInterval?: Duration | false;
}

/** The Express app and the session middleware it uses (for shutdown and tests). */
export interface DemoApp {
  readonly app: Express;
  readonly sessions: KvSessionMiddleware;
}

const MAX_NAME_LENGTH = 64;

/** Builds the demo: sign-in, counter, session details and device list over one kvSession. */
export function createDemoApp(options: DemoOptions): DemoApp {
  const sessions = kvSession({
    secret: options.secret,
    store: options.store,
    // A store outage shows a banner instead of an error page: the demo stays browsable.
    onStoreError: 'anonymous',
    ...(options.pruneInterval === undefined ? {} : { pruneInterval: options.pruneInterval }),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(
    securityHeaders,
    sameOriginPosts,
    express.urlencoded({ extended: false, limit: '4kb' }),
    sessions,
  );

  app.get('/', async (req, res) => {
    const userId = await req.session.userId();
    const notice = await req.session.get('notice');
    // A one-time message: shown once, then dropped from the session.
    if (notice !== undefined) req.session.delete('notice');
    const name = await req.session.get('name');
    res.send(
      renderHome({
        userId,
        name: typeof name === 'string' ? name : undefined,
        count: counterValue(await req.session.get('count')),
        hasSession: req.session.id !== undefined,
        degraded: req.session.degraded,
        handle: req.session.handle,
        devices: userId === undefined ? [] : await sessions.listUserSessions(userId),
        data: await req.session.all(),
        notice: typeof notice === 'string' ? notice : undefined,
      }),
    );
  });

  app.post('/login', async (req, res) => {
    const name = formField(req, 'name').trim();
    if (name === '' || name.length > MAX_NAME_LENGTH) {
      res.status(400).send(renderError(400, `Enter a name of 1 to ${MAX_NAME_LENGTH} characters.`));
      return;
    }
    const hadCounter = await req.session.has('count');
    // login() gives the session a new ID (fixation defence) and adds it to the user's device list; pre-login
    // data is dropped except the keys named in `keep` (nothing planted before sign-in should carry over unasked).
    await req.session.login(name, { keep: ['count'] });
    req.session.set('name', name);
    if (hadCounter)
      req.session.set(
        'notice',
        'Signed in: your anonymous counter came along, under a new session ID.',
      );
    res.redirect(303, '/');
  });

  app.post('/count', async (req, res) => {
    req.session.set('count', counterValue(await req.session.get('count')) + 1);
    // Not required (changes are saved before the response leaves), but awaiting it makes a
    // store failure fail this handler instead of surfacing after the redirect was decided.
    await req.session.save();
    res.redirect(303, '/');
  });

  app.post('/count/reset', (req, res) => {
    req.session.delete('count');
    res.redirect(303, '/');
  });

  app.post('/regenerate', async (req, res) => {
    await req.session.regenerate();
    req.session.set('notice', 'New session ID issued: the previous cookie no longer works.');
    res.redirect(303, '/');
  });

  app.post('/devices/sign-out-others', async (req, res) => {
    const userId = await req.session.userId();
    const current = req.session.id;
    if (userId !== undefined && current !== undefined) {
      const ended = await sessions.destroyUserSessions(userId, { except: current });
      req.session.set('notice', `Signed out ${ended} other device${ended === 1 ? '' : 's'}.`);
    }
    res.redirect(303, '/');
  });

  app.post('/data/clear', (req, res) => {
    req.session.clear();
    res.redirect(303, '/');
  });

  app.post('/logout', async (req, res) => {
    await req.session.destroy();
    res.redirect(303, '/');
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).send(renderError(404, 'Not found.'));
  });
  app.use(errorPage);
  return { app, sessions };
}

/** The counter as stored, or 0 for anything else. */
function counterValue(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
}

function formField(req: Request, field: string): string {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object') return '';
  const value: unknown = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : '';
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    // Pages are plain HTML with inline CSS and no scripts: forbid everything else.
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    // Pages show per-session data: never let a shared cache keep them.
    'Cache-Control': 'no-store',
  });
  next();
};

/**
 * CSRF defence in depth: the cookie is SameSite=Lax already, and a state-changing request whose
 * Origin (or Sec-Fetch-Site) says it came from another site is refused outright.
 */
function sameOriginPosts(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const origin = req.get('origin');
  const site = req.get('sec-fetch-site');
  const crossSite = site === 'cross-site' || site === 'same-site';
  if (
    crossSite ||
    (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`)
  ) {
    res.status(403).send(renderError(403, 'Cross-site request refused.'));
    return;
  }
  next();
}

const errorPage: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) return next(err);
  const status = statusOf(err);
  const code = isKvSessionError(err) ? err.code : undefined;
  if (status >= 500)
    console.error(
      `kvsession demo: ${code ?? 'error'}: ${err instanceof Error ? err.message : String(err)}`,
    );
  res
    .status(status)
    .send(
      renderError(
        status,
        code === undefined ? 'Something went wrong.' : `The session layer failed (${code}).`,
      ),
    );
};

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
