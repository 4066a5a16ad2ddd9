import type { FullSessionStore, StoreOptions } from '../src/store.js';
import { KvSessionError } from '../src/errors.js';
import { loadDriver } from './driver.js';
import type { SqlConnection, SqlDialect, SqlRow } from './sql-base.js';
import { SqlStore, checkTable, checkTimeout } from './sql-base.js';

type KeyvSqliteModule = typeof import('@keyv/sqlite');

/** The SQLite statement parts; `connect` (and group commit, on a connection of our own) are added per store. */
export const sqliteDialect: Omit<SqlDialect, 'connect'> = {
  name: 'sqlite',
  expires: (column) => `json_extract(${column}, '$.expires')`,
  valueJson: (column) => `(${column} -> '$.value')`,
  setExpires: (column) => `json_set(${column}, '$.expires', json(?))`,
  keyOrder: 'key', // BINARY collation: UTF-8 bytes, i.e. code-point order
  find: 'instr',
  lockBatch: '', // SQLite runs one writer at a time
};

/** Options of the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions {
  /** `sqlite://./sessions.db`, `sqlite:///abs/path.db` or `sqlite://:memory:` (one database per store). */
  url: string;
  /** Table holding the records, in keyv's `key`/`value` layout. @default 'kvsession' */
  table?: string;
}

/** The file path (or `:memory:`) a sqlite URL names; throws ERR_KVSESSION_BAD_STORE_URL when it names none. */
export function sqlitePath(url: string): string {
  const rest = typeof url === 'string' && /^sqlite:/i.test(url) ? url.slice('sqlite:'.length) : '';
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url)} is not a SQLite URL; expected sqlite://./sessions.db, sqlite:///abs/path.db or sqlite://:memory:`,
    );
  }
  return path;
}

/**
 * Creates a SQLite store on @keyv/sqlite (loaded on first use). Returns at once; the database is
 * opened, switched to WAL and given its expiry index on the first operation.
 */
export function createSqliteStore(options: string | SqliteStoreOptions): FullSessionStore {
  const opts: SqliteStoreOptions = typeof options === 'string' ? { url: options } : options;
  const path = sqlitePath(opts.url);
  const table = checkTable(opts.table ?? 'kvsession');
  // A writer waits for another connection's lock at least as long as the caller waits for it.
  const busyTimeout = checkTimeout(opts.timeout);

  const dialect: SqlDialect = {
    ...sqliteDialect,
    // Every commit is an fsync and the connection is single and ours: concurrent saves share one commit.
    groupCommit: true,
    connect: async (): Promise<SqlConnection> => {
      const { KeyvSqlite } = await loadDriver<KeyvSqliteModule>('@keyv/sqlite', 'sqlite');
      // The adapter opens one connection per instance and creates keyv's table; we only add to it.
      const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, table, busyTimeout });
      adapter.on('error', () => {}); // the same error also rejects the query; an unheard 'error' event would throw
      const query = async (sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> =>
        (await adapter.query(sql, params)) as SqlRow[];
      try {
        // The default rollback journal lost acknowledged writes with two writer processes; WAL did not.
        if (path !== ':memory:') await query('PRAGMA journal_mode=WAL', []);
        await query(
          `CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (json_extract(value, '$.expires'))`,
          [],
        );
      } catch (err) {
        await adapter.disconnect().catch(() => {});
        throw err;
      }
      // `:memory:` is one database per connection, so a second connection would see another one.
      if (path === ':memory:') return { query, close: () => adapter.disconnect() };
      // Lookups get a connection of their own: in WAL a reader never waits for the writer, so a
      // prune batch or a group commit on the main connection no longer delays a session read.
      const reader = new KeyvSqlite({ uri: `sqlite://${path}`, table, busyTimeout });
      reader.on('error', () => {});
      try {
        await reader.query('SELECT 1', []);
      } catch (err) {
        await Promise.allSettled([reader.disconnect(), adapter.disconnect()]);
        throw err;
      }
      return {
        query,
        read: async (sql, params) => (await reader.query(sql, params)) as SqlRow[],
        close: async () => {
          const [main, read] = await Promise.allSettled([
            adapter.disconnect(),
            reader.disconnect(),
          ]);
          if (main.status === 'rejected') throw main.reason;
          if (read.status === 'rejected') throw read.reason;
        },
      };
    },
  };
  return new SqlStore(dialect, table, opts);
}
