import type { Pool, PoolClient } from 'pg';
import type { FullSessionStore, StoreOptions } from '../src/store.js';
import { KvSessionError } from '../src/errors.js';
import { loadDriver } from './driver.js';
import type { SqlConnection, SqlDialect, SqlRow } from './sql-base.js';
import { SqlStore, checkTable, checkTimeout } from './sql-base.js';

type PgModule = typeof import('pg');

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://user:password@host:port/db` or `postgresql://…` (any pg connection string). */
  url: string;
  /** Table holding the records, in keyv's `key`/`value` layout; created when missing. @default 'kvsession' */
  table?: string;
  /** Most connections this store's own pool opens. @default 10 */
  max?: number;
}

/*
 * Why pg directly and not the @keyv/postgres adapter: the adapter keeps one module-global pool
 * (disconnecting one store ends every other store's pool), and it swallows a failed table creation
 * at startup, leaving a store that fails forever. We keep its exact table format instead, so
 * `new Keyv(new KeyvPostgres({ uri, table: 'kvsession' }))` still reads our records.
 */

/**
 * Creates a PostgreSQL store with a pool of its own (pg, loaded on first use). Returns at once; the
 * pool connects, and creates the table and expiry index if missing, on the first operation.
 */
export function createPostgresStore(options: string | PostgresStoreOptions): FullSessionStore {
  const opts: PostgresStoreOptions = typeof options === 'string' ? { url: options } : options;
  if (typeof opts.url !== 'string' || !/^postgres(ql)?:\/\//i.test(opts.url)) {
    throw new KvSessionError('ERR_KVSESSION_BAD_STORE_URL', `${JSON.stringify(opts.url)} is not a PostgreSQL URL; expected postgres://user@host:5432/db`);
  }
  if (opts.max !== undefined && !(Number.isInteger(opts.max) && opts.max > 0)) {
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', `max must be a positive integer, got ${String(opts.max)}`);
  }
  const table = checkTable(opts.table ?? 'kvsession');
  const timeout = checkTimeout(opts.timeout);
  const expires = (column: string): string => `((${column}::json ->> 'expires')::numeric)`;

  const dialect: SqlDialect = {
    name: 'postgres',
    // numeric, not bigint: one fractional deadline written by a Keyv client would make a bigint cast fail every prune.
    expires,
    // json (not jsonb) keeps the source text, so -> yields the value's JSON exactly as written.
    valueJson: (column) => `(${column}::json -> 'value')::text`,
    setExpires: (column) => `json_build_object('value', ${column}::json -> 'value', 'expires', ?::numeric)::text`,
    // Under a locale collation ':' and ';' are ignored at first level, so prefix ranges must compare bytes.
    keyOrder: 'key COLLATE "C"',
    find: 'strpos',
    lockBatch: ' FOR UPDATE SKIP LOCKED',
    // Each query is a socket write that wakes a server process (~60 µs of CPU here); a burst shares one.
    keyInArray: 'key = ANY(?::text[])',
    connect: async (): Promise<SqlConnection> => {
      const pg = await loadDriver<PgModule>('pg', 'postgres');
      const pool = new pg.Pool({
        connectionString: opts.url,
        max: opts.max ?? 10,
        // Bounds on connecting and on each query: without them a get hangs for a whole outage.
        connectionTimeoutMillis: timeout,
        query_timeout: timeout,
        statement_timeout: timeout,
        allowExitOnIdle: true,
      });
      pool.on('error', () => {}); // an idle client lost its server: pg drops it, the next query reconnects
      try {
        await ensureTable(pool, table, expires('value'));
      } catch (err) {
        await pool.end().catch(() => {});
        throw err;
      }
      // Named statements: each connection parses and plans a statement once instead of per request.
      // Names are per pool, and this pool belongs to this store alone, so they cannot clash.
      const prepared = new Map<string, { name: string; text: string }>();
      return {
        query: async (sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> => {
          let statement = prepared.get(sql);
          if (statement === undefined) prepared.set(sql, (statement = { name: `kvsession_${prepared.size}`, text: toNumbered(sql) }));
          return (await pool.query({ ...statement, values: params as unknown[] })).rows as SqlRow[];
        },
        close: () => pool.end(),
      };
    },
  };
  return new SqlStore(dialect, table, opts);
}

// Two processes running CREATE TABLE IF NOT EXISTS at once can still collide on the catalog,
// so schema setup is serialized by an advisory lock held for its transaction.
async function ensureTable(pool: Pool, table: string, expires: string): Promise<void> {
  const client: PoolClient = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kvsession:${table}`]);
    // key in the C collation makes the primary key serve byte-order prefix ranges (count, clear).
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT COLLATE "C" PRIMARY KEY, value TEXT)`);
    await client.query(`CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (${expires})`);
    await client.query('COMMIT');
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release(failure instanceof Error ? failure : undefined);
  }
}

// Statements are written with `?`; Postgres numbers its parameters. No statement holds a literal '?'.
function toNumbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
