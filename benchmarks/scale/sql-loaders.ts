import sqlite3 from 'sqlite3';
import pg from 'pg';
import type { Backend } from './backend.js';
import { chunks } from './backend.js';
import { expressSession, kvsession } from './population.js';

/*
 * Bulk loaders for the SQL stores, in each library's own table format: kvsession's keyv layout
 * (key, value = {"value":<record>,"expires":ms}), connect-sqlite3's (sid, expired ms, sess) and
 * connect-pg-simple's (sid, sess json, expire timestamp). One transaction per fill.
 */

/** A row writer: the column values for session i of the population. */
type Row = (i: number, expiresAt: number) => unknown[];

/** kvsession's rows under `prefix`, as SqlStore writes them (the envelope keyv itself writes). */
export function kvsessionRow(seed: string, prefix: string): Row {
  const now = Date.now();
  return (i, expiresAt) => [
    prefix + kvsession.key(seed, i),
    JSON.stringify({ value: kvsession.record(now - (i % 1000)), expires: expiresAt }),
  ];
}

/** An SQLite table in `file`, filled through the sqlite3 driver the stores use. */
export function sqliteBackend(
  file: string,
  table: string,
  kind: 'kvsession' | 'connect-sqlite3',
  seed: string,
  prefix: string,
): Backend {
  const sess = expressSession.sess();
  const row: Row =
    kind === 'kvsession'
      ? kvsessionRow(seed, prefix)
      : (i, expiresAt) => [expressSession.sid(seed, i), expiresAt, sess];
  const insert =
    kind === 'kvsession'
      ? `INSERT INTO ${table} (key, value) VALUES (?, ?)`
      : `INSERT INTO ${table} (sid, expired, sess) VALUES (?, ?, ?)`;
  let db: sqlite3.Database | undefined;
  const open = async (): Promise<sqlite3.Database> => {
    if (db !== undefined) return db;
    const opened = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
    });
    opened.configure('busyTimeout', 30_000);
    // A million random keys in one transaction: with the default 2 MB cache the key index's pages
    // are evicted and rewritten over and over.
    await new Promise<void>((resolve, reject) =>
      opened.exec('PRAGMA cache_size = -262144', (err) => (err ? reject(err) : resolve())),
    );
    db = opened;
    return opened;
  };
  const all = async (sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> => {
    const d = await open();
    return new Promise((resolve, reject) =>
      d.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as never))),
    );
  };
  return {
    async fill(from, to, expiresAt) {
      const d = await open();
      // connect-sqlite3 creates it as its store opens; the server may not have got that far.
      if (kind === 'connect-sqlite3')
        await all(`CREATE TABLE IF NOT EXISTS ${table} (sid PRIMARY KEY, expired, sess)`);
      await all('BEGIN IMMEDIATE');
      const statement = await new Promise<sqlite3.Statement>((resolve, reject) => {
        const prepared = d.prepare(insert, (err: Error | null) =>
          err ? reject(err) : resolve(prepared),
        );
      });
      for (const [start, end] of chunks(from, to, 5000)) {
        const done: Promise<void>[] = [];
        for (let i = start; i < end; i++) {
          done.push(
            new Promise((resolve, reject) =>
              statement.run(row(i, expiresAt), (err: Error | null) =>
                err ? reject(err) : resolve(),
              ),
            ),
          );
        }
        await Promise.all(done);
      }
      await new Promise<void>((resolve) => statement.finalize(() => resolve()));
      await all('COMMIT');
      // Left in the WAL, a load this size is copied into the database by the server's next
      // write, which then overran the 2 s store timeout: real sessions arrive over hours, and
      // are checkpointed as they come.
      await all('PRAGMA wal_checkpoint(TRUNCATE)');
    },
    async bytesPerSession(count) {
      // The whole file holds only this table and its indexes: pages in use × page size.
      const [pages] = await all('PRAGMA page_count');
      const [free] = await all('PRAGMA freelist_count');
      const [size] = await all('PRAGMA page_size');
      const used = Number(pages?.['page_count']) - Number(free?.['freelist_count']);
      return (used * Number(size?.['page_size'])) / count;
    },
    async count() {
      const [r] = await all(`SELECT count(*) AS n FROM ${table}`);
      return Number(r?.['n']);
    },
    async cleanup() {
      const d = db;
      db = undefined;
      if (d !== undefined) await new Promise<void>((resolve) => d.close(() => resolve()));
    },
  };
}

/** A PostgreSQL table of this run's own, filled with unnest() batches inside one transaction. */
export function postgresBackend(
  url: string,
  table: string,
  kind: 'kvsession' | 'connect-pg-simple',
  seed: string,
  prefix: string,
): Backend {
  let client: pg.Client | undefined;
  const connect = async (): Promise<pg.Client> => {
    if (client !== undefined) return client;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    client = c;
    return c;
  };
  const sess = expressSession.sess();
  const kvRow = kvsessionRow(seed, prefix);
  return {
    async fill(from, to, expiresAt) {
      const c = await connect();
      if (kind === 'connect-pg-simple') await createPgSimpleTable(c, table);
      await c.query('BEGIN');
      for (const [start, end] of chunks(from, to, 10_000)) {
        const columns: unknown[][] = kind === 'kvsession' ? [[], []] : [[], [], []];
        for (let i = start; i < end; i++) {
          const values =
            kind === 'kvsession'
              ? kvRow(i, expiresAt)
              : [expressSession.sid(seed, i), sess, expiresAt / 1000];
          values.forEach((v, k) => columns[k]?.push(v));
        }
        await c.query(
          kind === 'kvsession'
            ? `INSERT INTO ${table} (key, value) SELECT * FROM unnest($1::text[], $2::text[])`
            : `INSERT INTO ${table} (sid, sess, expire)
               SELECT s, j::json, to_timestamp(e) FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(s, j, e)`,
          columns,
        );
      }
      await c.query('COMMIT');
      // What autovacuum would do after such a load, done now so the planner knows the table.
      await c.query(`VACUUM ANALYZE ${table}`);
    },
    async bytesPerSession(count) {
      const c = await connect();
      const r = await c.query(`SELECT pg_total_relation_size($1) AS bytes`, [table]);
      return Number(r.rows[0]?.bytes) / count;
    },
    async count() {
      const r = await (await connect()).query(`SELECT count(*) AS n FROM ${table}`);
      return Number(r.rows[0]?.n);
    },
    async cleanup() {
      // The server may have created the table before any fill: connect to drop it all the same.
      const c = client ?? (await connect().catch(() => undefined));
      client = undefined;
      if (c === undefined) return;
      await c.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await c.end().catch(() => {});
    },
  };
}

// connect-pg-simple's table.sql, under this run's table name (it creates the same when missing).
async function createPgSimpleTable(c: pg.Client, table: string): Promise<void> {
  await c.query(`CREATE TABLE IF NOT EXISTS ${table} (
    sid varchar NOT NULL COLLATE "default" PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`);
  await c.query(`CREATE INDEX IF NOT EXISTS "IDX_${table}_expire" ON ${table} (expire)`);
}
