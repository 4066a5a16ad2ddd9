import type { Request } from 'express';
import { session } from '../../src/express-session/index.js';
import type { ExpressSessionMiddleware } from '../../src/express-session/index.js';
import { createStore } from '../../stores/index.js';
import { BENCH_SECRET, SETUP_DATA, createBenchApp, serve, unavailable } from './harness.js';
import { countingStore } from './counting-store.js';

// kvsession's express-session drop-in, with the express-session server's routes and options.
// argv: <store URL> <prefix>
const [url = 'memory://', prefix = 'kvbench:d:'] = process.argv.slice(2);

type Bag = Record<string, unknown> & { user?: { name?: string }; counter?: unknown };
const bag = (req: Request): Bag => req.session as unknown as Bag;

function start(): void {
  const { app, stats } = createBenchApp();
  let sessions: ExpressSessionMiddleware;
  try {
    const store = countingStore(createStore(url, { prefix }), stats);
    sessions = session({
      secret: BENCH_SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      name: 'sid',
    });
  } catch (err) {
    unavailable(err instanceof Error ? err.message : String(err));
    return;
  }
  app.use(sessions);
  app.get('/__setup', (req, res) => {
    Object.assign(bag(req), structuredClone(SETUP_DATA));
    res.send('ok');
  });
  app.get('/none', (_req, res) => {
    res.send('ok');
  });
  app.get('/read', (req, res) => {
    const name = bag(req).user?.name;
    if (name === undefined) res.status(409).send('no session');
    else res.send(name);
  });
  app.get('/write', (req, res) => {
    const s = bag(req);
    if (typeof s.counter !== 'number') {
      res.status(409).send('no session');
      return;
    }
    s.counter += 1;
    res.send(String(s.counter));
  });
  serve(
    app,
    async () => {
      await sessions.store.clear?.();
      await sessions.close();
    },
    async () => sessions.store.warm?.(),
  );
}

start();
