import type { Request } from 'express';
import { session } from '../../src/express-session/index.js';
import type { ExpressSessionMiddleware } from '../../src/express-session/index.js';
import { benchStore } from './bench-store.js';
import type { BenchStore } from './bench-store.js';
import { BENCH_SECRET, SETUP_DATA, createBenchApp, serveSessions, unavailable } from './harness.js';
import { countingStore } from './counting-store.js';
import { mountBagRoutes } from './routes.js';
import type { SessionBag } from './routes.js';

// kvsession's express-session drop-in, with the express-session server's routes and options.
// argv: <store URL> <prefix> [<PostgreSQL table, dropped on exit>]
const [url = 'memory://', prefix = 'kvbench:d:', table] = process.argv.slice(2);

const bag = (req: Request): SessionBag => req.session as unknown as SessionBag;

function start(): void {
  const { app, stats } = createBenchApp();
  let sessions: ExpressSessionMiddleware;
  let removeAfter: BenchStore['removeAfter'];
  try {
    const built = benchStore(url, prefix, table);
    removeAfter = built.removeAfter;
    const store = countingStore(built.store, stats);
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
  mountBagRoutes(app, bag);
  serveSessions(app, sessions, removeAfter);
}

start();
