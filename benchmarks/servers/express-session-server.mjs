// express-session on one store, with the same routes as kvsession-server.ts.
// argv: <store kind> <runId> <tmpDir> <redisUrl> <postgresUrl>
// The shared harness is imported from the build output: run through `npm run bench`, which builds first.
import session from 'express-session';

const harness = await import(
  new URL('../../dist/benchmarks/servers/harness.js', import.meta.url).href
);
const { BENCH_SECRET, SETUP_DATA, createBenchApp, countOp, serve, unavailable } = harness;
const { mountBagRoutes } = await import(
  new URL('../../dist/benchmarks/servers/routes.js', import.meta.url).href
);
const { expressSessionStoreOrUnavailable } = await import('./express-session-stores.mjs');

const [kind = 'memory', runId = 'dev', tmpDir = '.', redisUrl = '', postgresUrl = ''] =
  process.argv.slice(2);

// Each wrapped method is one backend round trip for these stores.
const COUNTED = ['get', 'set', 'touch', 'destroy'];

async function start() {
  const { app, stats } = createBenchApp();
  const built = await expressSessionStoreOrUnavailable(
    kind,
    session,
    { runId, tmpDir, redisUrl, postgresUrl },
    unavailable,
  );
  if (built === undefined) return;
  const { store, cleanup } = built;
  for (const method of COUNTED) {
    const original = store[method];
    if (typeof original !== 'function') continue;
    store[method] = function (...args) {
      countOp(stats, method);
      return original.apply(this, args);
    };
  }
  // The recommended configuration: no forced resave, no empty sessions for anonymous visitors.
  app.use(
    session({ secret: BENCH_SECRET, store, resave: false, saveUninitialized: false, name: 'sid' }),
  );

  app.get('/__setup', (req, res) => {
    Object.assign(req.session, structuredClone(SETUP_DATA));
    res.send('ok');
  });
  mountBagRoutes(app, (req) => req.session);

  serve(app, cleanup);
}

await start();
