import { kvSession } from '../../src/index.js';
import { createStore } from '../../stores/index.js';
import type { KvSessionMiddleware } from '../../src/index.js';
import { BENCH_SECRET, SETUP_DATA, createBenchApp, serve, unavailable } from './harness.js';
import type { ServerStats } from './harness.js';
import { countingStore } from './counting-store.js';

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
  app.get('/none', (_req, res) => {
    res.send('ok');
  });
  app.get('/read', async (req, res) => {
    const user = (await req.session.get('user')) as { name?: string } | undefined;
    // 409 counts as a failure in the report: the cookie did not reach a live session.
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

  // Ready only once the store is connected, as the express-session servers are (they await their
  // client's connect). A server that takes requests while its store's driver loads and connects can
  // stay in a costlier GC regime for the rest of its life (benchmarks/README.md, session 13).
  serve(
    app,
    async () => {
      await sessions.store.clear?.();
      await sessions.close();
    },
    async () => sessions.store.warm?.(),
  );
}

function build(storeUrl: string, storePrefix: string, stats: ServerStats): KvSessionMiddleware {
  const store = countingStore(createStore(storeUrl, { prefix: storePrefix }), stats);
  return kvSession({ secret: BENCH_SECRET, store });
}

start();
