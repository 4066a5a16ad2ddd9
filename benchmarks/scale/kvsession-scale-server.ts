import { kvSession } from '../../src/index.js';
import type { FullSessionStore } from '../../src/store.js';
import { createStore } from '../../stores/index.js';
import { createPostgresStore } from '../../stores/postgres.js';
import { createSqliteStore } from '../../stores/sqlite.js';
import { BENCH_SECRET, createBenchApp, serve, unavailable } from '../servers/harness.js';
import { mountKvSessionRoutes } from '../servers/routes.js';
import { mountControl } from './control.js';
import { kvsession } from './population.js';

// argv: <store URL> <prefix> <SQL table> <population seed>
// The routes are kvsession-server.ts's; this server adds filling itself (the memory store lives in
// this process), timed prune() and memory readings (control.ts). The runner cleans the backends.
const [url = 'memory://', prefix = 'kvscale:', table = 'kvsession', seed = 'dev'] =
  process.argv.slice(2);

function storeFor(): FullSessionStore {
  if (url.startsWith('sqlite:')) return createSqliteStore({ url, table, prefix });
  if (url.startsWith('postgres')) return createPostgresStore({ url, table, prefix, max: 10 });
  return createStore(url, { prefix });
}

function start(): void {
  const { app } = createBenchApp();
  let store: FullSessionStore;
  try {
    store = storeFor();
  } catch (err) {
    unavailable(err instanceof Error ? err.message : String(err));
    return;
  }
  // The background pruner is measured by calling prune() itself, when the runner says so.
  const sessions = kvSession({ secret: BENCH_SECRET, store, pruneInterval: false });
  mountControl(app, {
    fill: ({ from, to, expiresAt }) => fill(store, from, to, expiresAt),
    prune: () => sessions.prune(),
    memory: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      return process.memoryUsage();
    },
  });
  app.use(sessions);
  mountKvSessionRoutes(app);
  serve(
    app,
    () => sessions.close(),
    async () => store.warm?.(),
  );
}

/** Creates sessions from..to-1 through the store itself, 64 at a time (the file store writes files). */
async function fill(store: FullSessionStore, from: number, to: number, expiresAt: number) {
  const now = Date.now();
  for (let start = from; start < to; start += 64) {
    const batch: Promise<boolean>[] = [];
    for (let i = start; i < Math.min(to, start + 64); i++)
      // A record string per session, as a real store holds: one shared string would hide their memory.
      batch.push(
        store.create(kvsession.key(seed, i), kvsession.record(now - (i % 1000)), expiresAt),
      );
    await Promise.all(batch);
  }
}

// A runner that died cannot ask us to stop: go with it rather than hold the store open.
process.once('disconnect', () => process.exit(1));
start();
