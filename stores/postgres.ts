import type { Pool } from 'pg';
import type { FullSessionStore, StoreOptions } from '../src/store.js';
import { KvSessionError } from '../src/errors.js';
import { loadDriver } from './driver.js';
import type { SqlConnection, SqlDialect } from './sql-base.js';
import { ensureTable, pgConnection } from './pg-connection.js';
import { watchConnection } from './connection-events.js';
import { isDataException, mergeStatement } from './pg-merge.js';
import { SqlStore, checkTable, checkTimeout } from './sql-base.js';

type PgModule = typeof import('pg');

/** Options of the PostgreSQL store: a `url` (the store builds and owns its pool) or an app's `pool`. */
export interface PostgresStoreOptions extends StoreOptions {
  /**
   * `postgres://user:password@host:port/db` or `postgresql://…` (any pg connection string). A
   * `preparedStatements=false` query parameter sets the option of that name.
   */
  url?: string;
  /**
   * A `pg.Pool` the app built (its own TLS, auth and timeouts), used instead of `url`. close() leaves
   * it open: the app that made it ends it.
   */
  pool?: Pool;
  /** Table holding the records, in keyv's `key`/`value` layout; created when missing. @default 'kvsession' */
  table?: string;
  /** Most connections the store's own pool opens (with `url` only). @default 10 */
  max?: number;
  /**
   * Named prepared statements (parsed once per connection). Set false behind a pooler that shares
   * server connections between clients, such as PgBouncer in transaction mode; left true, the store
   * detects such a pooler on its first failed statement and switches by itself, with one warning.
   * @default true
   */
  preparedStatements?: boolean;
}

/*
 * Why pg directly and not the @keyv/postgres adapter: the adapter keeps one module-global pool
 * (disconnecting one store ends every other store's pool), and it swallows a failed table creation
 * at startup, leaving a store that fails forever. We keep its exact table format instead, so
 * `new Keyv(new KeyvPostgres({ uri, table: 'kvsession' }))` still reads our records.
 */

/**
 * Creates a PostgreSQL store on its own pool (pg, loaded on first use) or on an app's `pool`.
 * Returns at once; it connects, and creates the table and expiry index if missing, on the first operation.
 */
export function createPostgresStore(options: string | PostgresStoreOptions): FullSessionStore {
  const opts: PostgresStoreOptions = typeof options === 'string' ? { url: options } : options;
  const source = checkSource(opts);
  if (opts.max !== undefined && !(Number.isInteger(opts.max) && opts.max > 0)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      `max must be a positive integer, got ${String(opts.max)}`,
    );
  }
  const table = checkTable(opts.table ?? 'kvsession');
  const timeout = checkTimeout(opts.timeout);
  const prepared = source.preparedStatements ?? opts.preparedStatements ?? true;
  if (typeof prepared !== 'boolean') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      `preparedStatements must be true or false, got ${String(prepared)}`,
    );
  }
  const dialect: SqlDialect = {
    ...postgresDialect,
    connect: async (): Promise<SqlConnection> => {
      const pool = source.pool ?? (await ownPool(source.url, opts.max ?? 10, timeout));
      const unwatch = watchConnection('postgres', pool);
      try {
        await ensureTable(pool, table, postgresDialect.expires('value'));
      } catch (err) {
        if (source.pool === undefined) await pool.end().catch(() => {});
        unwatch();
        throw err;
      }
      const connection = pgConnection(pool, {
        preparedStatements: prepared,
        owned: source.pool === undefined,
      });
      // Our own pool keeps its listeners: it ends its connections after end() resolves, and they are logged then.
      return source.pool === undefined
        ? connection
        : { ...connection, close: () => connection.close().finally(unwatch) };
    },
  };
  return new SqlStore(dialect, table, opts);
}

const expires = (column: string): string => `((${column}::json ->> 'expires')::numeric)`;

/** The PostgreSQL statement parts; `connect` is added per store. */
export const postgresDialect: Omit<SqlDialect, 'connect'> = {
  name: 'postgres',
  // numeric, not bigint: one fractional deadline written by a Keyv client would make a bigint cast fail every prune.
  expires,
  // json (not jsonb) keeps the source text, so -> yields the value's JSON exactly as written.
  valueJson: (column) => `(${column}::json -> 'value')::text`,
  setExpires: (column) =>
    `json_build_object('value', ${column}::json -> 'value', 'expires', ?::numeric)::text`,
  // Under a locale collation ':' and ';' are ignored at first level, so prefix ranges must compare bytes.
  keyOrder: 'key COLLATE "C"',
  find: 'strpos',
  lockBatch: ' FOR UPDATE SKIP LOCKED',
  pruneInRange: true,
  // Each query is a socket write that wakes a server process (~60 µs of CPU here); a burst shares one.
  keyInArray: 'key = ANY(?::text[])',
  // A save is one UPDATE merging its keys: overlapping saves never conflict (stores/pg-merge.ts).
  merge: { statement: (table) => mergeStatement(table, expires), cannotMerge: isDataException },
};

type Source =
  | { url: string; pool?: undefined; preparedStatements?: boolean }
  | { pool: Pool; url?: undefined; preparedStatements?: undefined };

/** Exactly one of url and pool; the URL's own `preparedStatements` parameter is taken out of it. */
function checkSource(opts: PostgresStoreOptions): Source {
  if (opts.pool !== undefined) {
    if (opts.url !== undefined)
      throw new KvSessionError(
        'ERR_KVSESSION_BAD_OPTION',
        'give the PostgreSQL store a url or a pool, not both',
      );
    if (
      typeof (opts.pool as Partial<Pool>).query !== 'function' ||
      typeof (opts.pool as Partial<Pool>).connect !== 'function'
    ) {
      throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'pool must be a pg.Pool');
    }
    return { pool: opts.pool };
  }
  const url = opts.url;
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    const message = `${JSON.stringify(url)} is not a PostgreSQL URL; expected postgres://user@host:5432/db`;
    throw new KvSessionError('ERR_KVSESSION_BAD_STORE_URL', message);
  }
  const param = /([?&])preparedStatements=(true|false)(&|$)/.exec(url);
  if (param === null) return { url };
  const rest =
    url.slice(0, param.index) +
    (param[3] === '&' ? param[1] : '') +
    url.slice(param.index + param[0].length);
  return { url: rest, preparedStatements: param[2] === 'true' };
}

async function ownPool(url: string, max: number, timeout: number): Promise<Pool> {
  const pg = await loadDriver<PgModule>('pg', 'postgres');
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // Bounds on connecting and on each query: without them a get hangs for a whole outage. The bound
    // is client-side (a query past it closes its connection): a statement_timeout startup parameter
    // is refused by PgBouncer ("unsupported startup parameter"), and our statements are single-row.
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    allowExitOnIdle: true,
  });
  pool.on('error', () => {}); // an idle client lost its server: pg drops it, the next query reconnects
  return pool;
}
