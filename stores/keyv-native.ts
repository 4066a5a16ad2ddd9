import Keyv from 'keyv';
import type { SessionStore, StoreOptions } from '../src/store.js';
import type { SqlConnection, SqlDialect, SqlRow } from './sql-base.js';
import { SqlStore, checkTable } from './sql-base.js';
import { postgresDialect } from './postgres.js';
import { sqliteDialect } from './sqlite.js';
import { toNumbered } from './pg-connection.js';

/*
 * A Keyv over @keyv/postgres or @keyv/sqlite is served through the adapter's own `query` (the
 * driver connection it already holds) with the same single-statement conditional writes as our
 * own SQL stores, so it is atomic across processes. Rows keep keyv's format (`<namespace>:<key>`,
 * `{"value":…,"expires":…}`), so the app's Keyv still reads them.
 *
 * What the app built stays the app's: close() does not disconnect its Keyv (@keyv/postgres keeps one
 * module-global pool, so disconnecting one Keyv ends every other Keyv's pool in the process), no
 * index is added to its table, and SQLite's journal mode is left as the app set it.
 */

/** The parts of @keyv/postgres and @keyv/sqlite adapters this module relies on. */
interface SqlAdapter {
  readonly opts: {
    readonly dialect?: unknown;
    readonly table?: unknown;
    readonly schema?: unknown;
  };
  query(sql: string, ...params: unknown[]): Promise<unknown>;
}

// Keyv's own defaults, so a Keyv with a custom serializer or compression (rows we could not read
// or query as JSON) is left to the generic path.
let defaults: { serialize: unknown; deserialize: unknown } | undefined;

/** A SessionStore over `keyv`'s SQL adapter, or undefined when `keyv` is not one we can serve natively. */
export function nativeKeyvStore(keyv: Keyv, options: StoreOptions): SessionStore | undefined {
  const adapter = keyv.store as Partial<SqlAdapter> | undefined;
  if (adapter === undefined || typeof adapter.query !== 'function') return undefined;
  if (typeof adapter.opts !== 'object' || adapter.opts === null) return undefined;
  defaults ??= (({ serialize, deserialize }) => ({ serialize, deserialize }))(new Keyv());
  const ownFormat =
    keyv.serialize !== defaults.serialize || keyv.deserialize !== defaults.deserialize;
  if (ownFormat || keyv.compression !== undefined) return undefined;
  const found = adapterDialect(adapter as SqlAdapter);
  if (found === undefined) return undefined;
  const query = (adapter as SqlAdapter).query.bind(adapter);
  const connection: SqlConnection = {
    query: async (sql, params) =>
      (await query(found.numbered ? toNumbered(sql) : sql, params)) as readonly SqlRow[],
    close: async () => {},
  };
  const dialect: SqlDialect = {
    ...found.dialect,
    name: `keyv-${found.dialect.name}`,
    connect: async () => connection,
  };
  // Keyv stores `key` as `<namespace>:key` unless told not to; our prefix goes after it.
  const namespace = keyv.namespace !== undefined && keyv.useKeyPrefix ? `${keyv.namespace}:` : '';
  return new SqlStore(dialect, found.table, {
    ...options,
    prefix: namespace + (options.prefix ?? 'sess:'),
  });
}

function adapterDialect(
  adapter: SqlAdapter,
): { dialect: Omit<SqlDialect, 'connect'>; table: string; numbered: boolean } | undefined {
  const { dialect, table, schema } = adapter.opts;
  if (typeof table !== 'string') return undefined;
  try {
    if (dialect === 'postgres') {
      const inPublic = schema === undefined || schema === 'public';
      const qualified = inPublic
        ? checkTable(table)
        : `${checkTable(String(schema))}.${checkTable(table)}`;
      return { dialect: postgresDialect, table: qualified, numbered: true };
    }
    if (dialect === 'sqlite')
      return { dialect: sqliteDialect, table: checkTable(table), numbered: false };
  } catch {
    return undefined; // a table name we would not splice into SQL: served by the generic path
  }
  return undefined;
}
