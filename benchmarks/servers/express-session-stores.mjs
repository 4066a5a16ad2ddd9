// The express-session stores the benchmark compares against, each built the way its README
// recommends, under names of our own so nothing collides with other users of the same backend.
// Plain .mjs: @types/express-session is not installed (its global Request.session clashes with ours).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/** createExpressSessionStore, or undefined after telling the parent (unavailable) why it cannot run. */
export async function expressSessionStoreOrUnavailable(kind, session, place, unavailable) {
  try {
    return await createExpressSessionStore(kind, session, place);
  } catch (err) {
    unavailable(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/** Builds the store for `kind`; resolves { store, cleanup } or throws with a readable reason. */
export async function createExpressSessionStore(
  kind,
  session,
  { runId, tmpDir, redisUrl, postgresUrl },
) {
  switch (kind) {
    case 'memory':
      return { store: new session.MemoryStore(), cleanup: async () => {} };
    case 'redis':
      return redisStore(redisUrl, `esbench:${runId}:`);
    case 'postgres':
      return postgresStore(session, postgresUrl, `esbench_${runId}`);
    case 'sqlite':
      return sqliteStore(session, tmpDir);
    case 'file':
      return fileStore(session, join(tmpDir, 'es-file'));
    default:
      throw new Error(`unknown express-session store "${kind}"`);
  }
}

async function redisStore(url, prefix) {
  const { createClient } = await import('redis');
  const { RedisStore } = await import('connect-redis');
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  await client.connect();
  const cleanup = async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
    await client.quit();
  };
  return { store: new RedisStore({ client, prefix }), cleanup };
}

async function postgresStore(session, connectionString, tableName) {
  const { default: pg } = await import('pg');
  const { default: connectPgSimple } = await import('connect-pg-simple');
  const pool = new pg.Pool({ connectionString, connectionTimeoutMillis: 2000 });
  await pool.query('SELECT 1');
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool,
    tableName,
    createTableIfMissing: true,
    pruneSessionInterval: false,
  });
  const cleanup = async () => {
    store.close();
    await pool.query(`DROP TABLE IF EXISTS "${tableName}"`);
    await pool.end();
  };
  return { store, cleanup };
}

async function sqliteStore(session, dir) {
  const { default: sqlite3 } = await import('sqlite3');
  const { default: connectSqlite3 } = await import('connect-sqlite3');
  const file = 'es-sessions.db';
  // WAL is a property of the database file: set it before the store opens its own connection,
  // since the default rollback journal is both slower and loses writes across processes.
  await new Promise((resolve, reject) => {
    const db = new sqlite3.Database(join(dir, file), (err) => {
      if (err) return reject(err);
      db.exec('PRAGMA journal_mode=WAL', (e) => db.close(() => (e ? reject(e) : resolve())));
    });
  });
  const SQLiteStore = connectSqlite3(session);
  const store = new SQLiteStore({ db: file, dir, table: 'sessions' });
  const cleanup = async () => new Promise((resolve) => store.db.close(() => resolve()));
  return { store, cleanup };
}

async function fileStore(session, path) {
  const { default: sessionFileStore } = await import('session-file-store');
  const FileStore = sessionFileStore(session);
  const store = new FileStore({ path, logFn: () => {}, reapInterval: -1 });
  return { store, cleanup: () => rm(path, { recursive: true, force: true }) };
}
