import { kvSession } from '../../src/index.js';
import type { KvSessionMiddleware } from '../../src/index.js';
import { BENCH_SECRET, SETUP_DATA, createBenchApp, serveSessions, unavailable } from './harness.js';
import { benchStore } from './bench-store.js';
import type { BenchStore } from './bench-store.js';
import { countingStore } from './counting-store.js';
import { mountKvSessionRoutes } from './routes.js';

// argv: <store URL> <prefix> [<PostgreSQL table, dropped on exit>]
const [url = 'memory://', prefix = 'kvbench:', table] = process.argv.slice(2);

function start(): void {
  const { app, stats } = createBenchApp();
  let sessions: KvSessionMiddleware;
  let removeAfter: BenchStore['removeAfter'];
  try {
    const built = benchStore(url, prefix, table);
    removeAfter = built.removeAfter;
    sessions = kvSession({ secret: BENCH_SECRET, store: countingStore(built.store, stats) });
  } catch (err) {
    // e.g. ERR_KVSESSION_UNKNOWN_STORE while a store's URL scheme is not wired yet.
    unavailable(err instanceof Error ? err.message : String(err));
    return;
  }
  app.use(sessions);

  app.get('/__setup', (req, res) => {
    for (const [key, value] of Object.entries(SETUP_DATA)) req.session.set(key, value);
    res.send('ok');
  });
  mountKvSessionRoutes(app);

  serveSessions(app, sessions, removeAfter);
}

start();
