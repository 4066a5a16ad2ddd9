// express-session on its MemoryStore, connect-redis, connect-sqlite3 or connect-pg-simple with the
// scale routes (/read, /write), a timed prune for the SQL stores (control.ts), so the scale runner can
// compare their pruning with kvsession's, and for the MemoryStore, which lives in this process, a
// fill and a heap reading. argv: <store kind> <runId> <tmpDir> <redisUrl> <postgresUrl>. The runner
// fills every other backend.
import session from 'express-session';

const harness = await import(
  new URL('../../dist/benchmarks/servers/harness.js', import.meta.url).href
);
const { mountControl } = await import(
  new URL('../../dist/benchmarks/scale/control.js', import.meta.url).href
);
const { BENCH_SECRET, createBenchApp, serve, unavailable } = harness;
const { mountBagRoutes } = await import(
  new URL('../../dist/benchmarks/servers/routes.js', import.meta.url).href
);
const { expressSession } = await import(
  new URL('../../dist/benchmarks/scale/population.js', import.meta.url).href
);
const { expressSessionStoreOrUnavailable } = await import('../servers/express-session-stores.mjs');

const [kind = 'postgres', runId = 'dev', tmpDir = '.', redisUrl = '', postgresUrl = ''] =
  process.argv.slice(2);

async function start() {
  const { app } = createBenchApp();
  const built = await expressSessionStoreOrUnavailable(
    kind,
    session,
    { runId, tmpDir, redisUrl, postgresUrl },
    unavailable,
  );
  if (built === undefined) return;
  const { store, cleanup } = built;
  mountControl(
    app,
    kind === 'memory'
      ? { fill: (range) => fill(store, range), memory: heap }
      : { prune: () => prune(store) },
  );
  app.use(
    session({ secret: BENCH_SECRET, store, resave: false, saveUninitialized: false, name: 'sid' }),
  );
  mountBagRoutes(app, (req) => req.session);
  serve(app, cleanup);
}

/**
 * Puts sessions from..to-1 into the MemoryStore as express-session itself keeps them (the session as
 * JSON under its ID). Their cookie has no expiry, so they live for the whole run.
 */
async function fill(store, { from, to }) {
  // A string of its own per session, as each save makes one: the heap per session is then real.
  for (let i = from; i < to; i++)
    store.sessions[expressSession.sid(runId, i)] = expressSession.sess();
}

/** The server's memory after two full collections, as kvsession's scale server reports it. */
async function heap() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage();
}

/** Each store's own expiry sweep: connect-pg-simple's pruneSessions(), connect-sqlite3's dbCleanup statement. */
function prune(store) {
  if (kind === 'postgres') {
    // pruneSessions() reports no count; the runner counts the rows left.
    return new Promise((resolve, reject) =>
      store.pruneSessions((err) => (err ? reject(err) : resolve(undefined))),
    );
  }
  // connect-sqlite3 runs this statement at startup and once a day (dbCleanup is private).
  return new Promise((resolve, reject) =>
    store.db.run(`DELETE FROM ${store.table} WHERE ? > expired`, [Date.now()], function (err) {
      if (err) reject(err);
      else resolve(this.changes);
    }),
  );
}

process.once('disconnect', () => process.exit(1));
await start();
