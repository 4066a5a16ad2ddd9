import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { SqlConnection, SqlRow } from './sql-base.js';

/*
 * Statements on a pg pool, named or not. A named statement is parsed and planned once per server
 * connection, which halved the latency of a get + compare-and-set pair on a direct connection
 * (docs/deploying-postgres.md). Behind a pooler in transaction mode (PgBouncer 1.18) a server
 * connection is shared by every client, so named statements meet other clients' statements:
 *  - names are a hash of the statement text, so a name found on a server connection always means
 *    this very statement: another app's statement can never run in place of ours;
 *  - the errors the sharing causes ("does not exist" at Bind, "already exists" at Parse) are raised
 *    before anything executes, so the statement is re-run unnamed, and the connection stays unnamed
 *    from then on, with one warning telling the operator to say `preparedStatements: false`.
 */
const POOLER_CODES = new Set(['26000', '42P05']); // invalid_sql_statement_name, duplicate_prepared_statement

/** How a pg pool is used by a store. */
export interface PgConnectionOptions {
  /** Use named prepared statements until a pooler shows it shares server connections. */
  readonly preparedStatements: boolean;
  /** The pool was built by the store, so close() ends it; an app's pool is left open. */
  readonly owned: boolean;
}

/** A SqlConnection over `pool`, with `?` parameters turned into `$n`. */
export function pgConnection(pool: Pool, options: PgConnectionOptions): SqlConnection {
  let named = options.preparedStatements;
  const statements = new Map<string, { name: string; text: string }>();
  return {
    query: async (sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> => {
      let statement = statements.get(sql);
      if (statement === undefined) statements.set(sql, (statement = prepare(sql)));
      const values = params as unknown[];
      if (named) {
        try {
          return (await pool.query({ name: statement.name, text: statement.text, values }))
            .rows as SqlRow[];
        } catch (err) {
          if (!POOLER_CODES.has(String((err as { code?: unknown }).code))) throw err;
          if (named) warnPooler();
          named = false;
        }
      }
      return (await pool.query({ text: statement.text, values })).rows as SqlRow[];
    },
    close: async (): Promise<void> => {
      if (options.owned) await pool.end();
    },
  };
}

function prepare(sql: string): { name: string; text: string } {
  const text = toNumbered(sql);
  return {
    name: `kvsession_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`,
    text,
  };
}

let warned = false;
function warnPooler(): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    'kvsession: the PostgreSQL server connections are shared (a pooler such as PgBouncer in transaction mode): ' +
      'named prepared statements failed, so this store now sends unnamed ones. Set `preparedStatements: false` ' +
      '(or `?preparedStatements=false` in the URL) to skip the failed first attempts.',
    { code: 'KVSESSION_PG_POOLER' },
  );
}

// Statements are written with `?`; Postgres numbers its parameters. No statement holds a literal '?'.
/** `?` placeholders as Postgres's `$1, $2, …`. */
export function toNumbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// Two processes running CREATE TABLE IF NOT EXISTS at once can still collide on the catalog,
// so schema setup is serialized by an advisory lock held for its transaction.
/** Creates the table and its expiry index when missing. */
export async function ensureTable(pool: Pool, table: string, expires: string): Promise<void> {
  const client: PoolClient = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kvsession:${table}`]);
    // key in the C collation makes the primary key serve byte-order prefix ranges (count, clear).
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (key TEXT COLLATE "C" PRIMARY KEY, value TEXT)`,
    );
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
