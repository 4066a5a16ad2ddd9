import type { Express, Request } from 'express';
// Types only (kvsession's req.session): erased, so the express-session servers load none of kvsession.
import type {} from '../../src/index.js';

// The benchmark's three routes, one definition per session API, so every server (the main run's and
// the scale run's) measures the same handlers. A 409 counts as a failure in the reports: the cookie
// did not reach a live session.

/** A session as express-session shapes it: a bag of properties (express-session and the drop-in). */
export type SessionBag = Record<string, unknown> & { user?: { name?: string }; counter?: unknown };

/** Mounts /none, /read and /write on kvsession's native `req.session` (get/set). */
export function mountKvSessionRoutes(app: Express): void {
  app.get('/none', (_req, res) => {
    res.send('ok');
  });
  app.get('/read', async (req, res) => {
    const user = (await req.session.get('user')) as { name?: string } | undefined;
    if (user?.name === undefined) res.status(409).send('no session');
    else res.send(user.name);
  });
  app.get('/write', async (req, res) => {
    const counter = await req.session.get('counter');
    if (typeof counter !== 'number') {
      res.status(409).send('no session');
      return;
    }
    req.session.set('counter', counter + 1);
    res.send(String(counter + 1));
  });
}

/** Mounts /none, /read and /write on an express-session-style `req.session`, found by `bagOf`. */
export function mountBagRoutes(app: Express, bagOf: (req: Request) => SessionBag): void {
  app.get('/none', (_req, res) => {
    res.send('ok');
  });
  app.get('/read', (req, res) => {
    const name = bagOf(req).user?.name;
    if (name === undefined) res.status(409).send('no session');
    else res.send(name);
  });
  app.get('/write', (req, res) => {
    const bag = bagOf(req);
    if (typeof bag.counter !== 'number') {
      res.status(409).send('no session');
      return;
    }
    bag.counter += 1;
    res.send(String(bag.counter));
  });
}
