import { kvSession } from '../../src/index.js';
import { createStore } from '../../stores/index.js';
import type { KvSessionMiddleware } from '../../src/index.js';
import { BENCH_SECRET, SETUP_DATA, createBenchApp, serveSessions, unavailable } from './harness.js';
import type { ServerStats } from './harness.js';
import { countingStore } from './counting-store.js';
import { mountKvSessionRoutes } from './routes.js';

// argv: <store URL> <prefix>
const [url = 'memory://', prefix = 'kvbench:'] = process.argv.slice(2);

function start(): void {
  const { app, stats } = createBenchApp();
  let sessions: KvSessionMiddleware;
  try {
    sessions = build(url, prefix, stats);
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

  serveSessions(app, sessions);
}

function build(storeUrl: string, storePrefix: string, stats: ServerStats): KvSessionMiddleware {
  const store = countingStore(createStore(storeUrl, { prefix: storePrefix }), stats);
  return kvSession({ secret: BENCH_SECRET, store });
}

start();
