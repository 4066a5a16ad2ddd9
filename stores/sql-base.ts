import type { DataChanges, SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, INDEX_MARK } from '../src/store.js';
import { KvSessionError, storeUnavailable, storeClosed } from '../src/errors.js';
import { GroupCommit, LookupBatcher } from './sql-batch.js';

/*
 * On-disk format: keyv's own. Table `key`/`value`, value = the keyv envelope
 * `{"value":<our text>,"expires":<ms>}` written byte-for-byte as @keyv/serialize writes it, so a
 * plain `new Keyv({ store: adapter, namespace: 'sess' })` reads our sessions (inspection,
 * migration, tooling). Expiry stays inside the JSON and is reached through an expression index,
 * which gives prune and the liveness filters the same index use a separate column would; a
 * separate `expires` column would be faster to maintain but a Keyv writer would never update it.
 */

/** One row as a driver returns it. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** An open connection or pool, as a dialect hands it to SqlStore. */
export interface SqlConnection {
  /** Runs one statement with positional `?` parameters; resolves its rows (RETURNING rows included). */
  query(sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]>;
  /**
   * Runs a session lookup on a connection of its own, where the database lets readers run beside a
   * writer (SQLite in WAL): a read then never waits behind a prune batch or a group commit on the
   * main connection, and never sees a group's writes before they are committed. `query` when absent.
   */
  read?(sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]>;
  /** Releases the connection or pool. */
  close(): Promise<void>;
}

/** What differs between SQL databases; SqlStore writes every statement from these parts. */
export interface SqlDialect {
  /** Store name for messages, e.g. `'sqlite'`. */
  readonly name: string;
  /** A row's expiry in ms: exactly the indexed expression, so the planner can use the index. */
  readonly expires: (column: string) => string;
  /** The JSON text of the row's value string, escapes exactly as written, for byte-exact compare-and-set. */
  readonly valueJson: (column: string) => string;
  /** The row's envelope with `expires` replaced by the next parameter (a JSON number as text); value text untouched. */
  readonly setExpires: (column: string) => string;
  /** `key` compared in code-point order, whatever the database's default collation. */
  readonly keyOrder: string;
  /** Function finding a substring, returning 0 when absent (`instr` / `strpos`). */
  readonly find: string;
  /** Suffix for prune's batch selection, so concurrent pruners skip rows others hold. */
  readonly lockBatch: string;
  /**
   * Prune picks each batch in expiry order within the prefix's key range, which the planner can
   * estimate, instead of through a prefix test it cannot (see statements()). Postgres needs this;
   * SQLite, without statistics, would then walk the key index and sort.
   */
  readonly pruneInRange?: boolean;
  /** `key = ANY(?)` for an array parameter: lookups of one turn of the event loop then share a round trip. */
  readonly keyInArray?: string;
  /** A statement merging a save's changed keys into the stored record server-side (see stores/pg-merge.ts). */
  readonly merge?: {
    readonly statement: (table: string) => string;
    readonly cannotMerge: (err: unknown) => boolean;
  };
  /** One connection whose commits are expensive (an fsync): concurrent writes are committed as a group. */
  readonly groupCommit?: boolean;
  /** Opens the connection and makes sure the table and its expiry index exist. */
  connect(): Promise<SqlConnection>;
}

// Prune deletes in batches so one large prune never holds SQLite's write lock for long.
const PRUNE_BATCH = 500;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,54}$/;

/** Checks a table name once, at construction: it is spliced into SQL, so only plain identifiers pass. */
export function checkTable(table: string): string {
  if (!TABLE_NAME.test(table)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      `table ${JSON.stringify(table)} must be a plain SQL identifier (letters, digits, _; at most 55 characters)`,
    );
  }
  return table;
}

/** Checks the `timeout` option, returning the default (2000 ms) when absent. */
export function checkTimeout(timeout: number | undefined): number {
  if (timeout === undefined) return 2000;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      `timeout must be a positive number of milliseconds, got ${String(timeout)}`,
    );
  }
  return timeout;
}

/** The smallest string above every string starting with `prefix` in code-point order, or undefined if none exists. */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    let next = (points.pop() as string).codePointAt(0)! + 1;
    if (next === 0xd800) next = 0xe000; // surrogates are not characters
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

// keyv's serializer marks strings that begin with ':' by doubling the colon; we write the same.
const escapeValue = (value: string): string => (value.startsWith(':') ? `:${value}` : value);
const unescapeValue = (value: string): string => (value.startsWith(':') ? value.slice(1) : value);

/** A dialect's merge statement for one table, and its test for data it cannot merge. */
interface MergeParts {
  readonly sql: string;
  readonly cannotMerge: (err: unknown) => boolean;
}

/** The statements of one store, written once from its table, dialect and prefix. */
function statements(t: string, d: SqlDialect, upper: boolean) {
  const inPrefix = upper ? `${d.keyOrder} >= ? AND ${d.keyOrder} < ?` : `${d.keyOrder} >= ?`;
  return {
    get: `SELECT value FROM ${t} WHERE key = ?`,
    getMany:
      d.keyInArray === undefined ? undefined : `SELECT key, value FROM ${t} WHERE ${d.keyInArray}`,
    // An expired row may be replaced; a live one makes the insert a no-op with no RETURNING row.
    create: `INSERT INTO ${t} AS cur (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
      WHERE ${d.expires('cur.value')} IS NULL OR ${d.expires('cur.value')} <= ? RETURNING key`,
    update: `UPDATE ${t} SET value = ? WHERE key = ? AND ${d.valueJson('value')} = ? AND ${d.expires('value')} > ? RETURNING key`,
    touch: `UPDATE ${t} SET value = ${d.setExpires('value')} WHERE key = ? AND ${d.expires('value')} > ? RETURNING key`,
    delete: `DELETE FROM ${t} WHERE key = ? RETURNING key`,
    // The outer expiry test is re-checked against a row a concurrent touch() just extended. SQLite:
    // the prefix test is deliberately not indexable (substr), so the planner takes the expiry index.
    // Postgres guesses such a test true for 0.5% of rows; with most rows expired it then chose a
    // sequential scan, which reads every live row, and every row earlier batches left dead, again for
    // each batch (1M expired beside 100k live: 230 ms a batch, and growing). With the key range it
    // knows how many rows are due, and ORDER BY makes the expiry index the cheap way to 500 of them;
    // ARRAY() keeps the DELETE on key lookups (as IN, it hash-joined a scan of every due row).
    prune: d.pruneInRange
      ? `DELETE FROM ${t} WHERE key = ANY(ARRAY(SELECT key FROM ${t} WHERE ${d.expires('value')} <= ? AND ${inPrefix}
      ORDER BY ${d.expires('value')} LIMIT ${PRUNE_BATCH}${d.lockBatch})) AND ${d.expires('value')} <= ? RETURNING key`
      : `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE ${d.expires('value')} <= ? AND substr(key, 1, ?) = ?
      LIMIT ${PRUNE_BATCH}${d.lockBatch}) AND ${d.expires('value')} <= ? RETURNING key`,
    count: `SELECT count(*) AS n FROM ${t} WHERE ${inPrefix} AND ${d.find}(substr(key, ?), '${INDEX_MARK}') = 0 AND ${d.expires('value')} > ?`,
    clear: `DELETE FROM ${t} WHERE ${inPrefix}`,
  };
}

/** A SessionStore over one SQL table in keyv's format, atomic through single-statement conditional writes. */
export class SqlStore implements SessionStore {
  readonly name: string;
  readonly prefix: string;
  readonly capabilities = { atomic: true, nativeExpiry: false } as const;
  readonly #dialect: SqlDialect;
  readonly #sql: ReturnType<typeof statements>;
  readonly #range: readonly string[];
  readonly #prefixLength: number;
  #connection: Promise<SqlConnection> | undefined;
  #closing: Promise<void> | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #reads: LookupBatcher<SqlRow> | undefined;
  readonly #writes: GroupCommit<readonly SqlRow[]> | undefined;
  /** Present when the dialect merges on the server; see SessionStore.mergeData. */
  readonly mergeData?: (
    key: string,
    changes: DataChanges,
    maxBytes: number,
    expiresAt: number,
  ) => Promise<StoreEntry | undefined>;

  /** Builds the store; nothing connects until the first operation. */
  constructor(dialect: SqlDialect, table: string, options: StoreOptions) {
    this.name = dialect.name;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#dialect = dialect;
    const end = prefixEnd(this.prefix);
    this.#range = end === undefined ? [this.prefix] : [this.prefix, end];
    this.#prefixLength = [...this.prefix].length; // SQL substr counts characters, not UTF-16 units
    this.#sql = statements(table, dialect, end !== undefined);
    const { get, getMany } = this.#sql;
    this.#reads =
      getMany === undefined
        ? undefined
        : new LookupBatcher<SqlRow>(
            async (key) => (await this.#query(get, [key]))[0],
            async (keys) =>
              new Map((await this.#query(getMany, [keys])).map((row) => [String(row['key']), row])),
          );
    this.#writes = dialect.groupCommit
      ? new GroupCommit({
          begin: () => this.#query('BEGIN IMMEDIATE', []),
          commit: () => this.#query('COMMIT', []),
          rollback: () => this.#query('ROLLBACK', []),
        })
      : undefined;
    if (dialect.merge !== undefined) {
      const merge: MergeParts = {
        sql: dialect.merge.statement(table),
        cannotMerge: dialect.merge.cannotMerge,
      };
      this.mergeData = (key, changes, maxBytes, expiresAt) =>
        this.#merge(merge, key, changes, maxBytes, expiresAt);
    }
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    const full = this.prefix + key;
    const reads = this.#reads;
    const row =
      reads === undefined
        ? (await this.#track('get', () => this.#read(this.#sql.get, [full])))[0]
        : await this.#track('get', () => reads.get(full));
    const entry = readEnvelope(row?.['value']);
    return entry !== undefined && entry.expiresAt > Date.now() ? entry : undefined;
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    const rows = await this.#write('create', this.#sql.create, [
      this.prefix + key,
      envelope(value, expiresAt),
      Date.now(),
    ]);
    return rows.length === 1;
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    const params = [
      envelope(value, expiresAt),
      this.prefix + key,
      JSON.stringify(escapeValue(expected)),
      Date.now(),
    ];
    return (await this.#write('update', this.#sql.update, params)).length === 1;
  }

  async touch(key: string, expiresAt: number): Promise<boolean> {
    const rows = await this.#write('touch', this.#sql.touch, [
      JSON.stringify(deadline(expiresAt)),
      this.prefix + key,
      Date.now(),
    ]);
    return rows.length === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#write('delete', this.#sql.delete, [this.prefix + key])).length === 1;
  }

  // `merge` is the dialect's; see SessionStore.mergeData. Data the dialect cannot merge resolves undefined.
  async #merge(
    merge: MergeParts,
    key: string,
    changes: DataChanges,
    maxBytes: number,
    expiresAt: number,
  ): Promise<StoreEntry | undefined> {
    const sets = `{${[...changes.set].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    const until = JSON.stringify(deadline(expiresAt));
    const params = [
      this.prefix + key,
      Date.now(),
      changes.clear,
      changes.delete,
      sets,
      sets,
      until,
      maxBytes,
    ];
    const attempt = (): Promise<readonly SqlRow[]> =>
      this.#query(merge.sql, params).catch((err: unknown) =>
        merge.cannotMerge(err) ? [] : Promise.reject(err),
      );
    const rows = await this.#track('mergeData', attempt);
    const value = rows[0]?.['value'];
    return typeof value === 'string' ? { value, expiresAt } : undefined;
  }

  async prune(progress?: () => void): Promise<number> {
    let removed = 0;
    for (;;) {
      const now = Date.now();
      const scope = this.#dialect.pruneInRange ? this.#range : [this.#prefixLength, this.prefix];
      const rows = await this.#run('prune', this.#sql.prune, [now, ...scope, now]);
      removed += rows.length;
      progress?.();
      if (rows.length < PRUNE_BATCH) return removed;
    }
  }

  async count(): Promise<number> {
    const [row] = await this.#run('count', this.#sql.count, [
      ...this.#range,
      this.#prefixLength + 1,
      Date.now(),
    ]);
    return Number(row?.['n']); // Postgres returns count(*) as a bigint string
  }

  async clear(): Promise<void> {
    await this.#run('clear', this.#sql.clear, this.#range);
  }

  async close(): Promise<void> {
    this.#closing ??= this.#release();
    return this.#closing;
  }

  async #release(): Promise<void> {
    // Operations already under way finish first (each is bounded by the client timeouts), so a
    // graceful shutdown does not lose the last saves.
    await Promise.allSettled(this.#inflight);
    const pending = this.#connection;
    this.#connection = undefined;
    if (pending === undefined) return;
    const connection = await pending.catch(() => undefined); // never connected: nothing to release
    try {
      await connection?.close();
    } catch (err) {
      throw storeUnavailable(err, 'close');
    }
  }

  #run(what: string, sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> {
    return this.#track(what, () => this.#query(sql, params));
  }

  /** A session write: in the next group commit where the dialect asks for one, else on its own. */
  #write(what: string, sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> {
    const writes = this.#writes;
    if (writes === undefined) return this.#run(what, sql, params);
    return this.#track(what, () => writes.write(() => this.#query(sql, params)));
  }

  /**
   * Admits an operation: refused once close() has begun, otherwise counted as in flight from this
   * moment (queued in a batch included), so close() lets it finish before releasing the connection.
   */
  async #track<T>(what: string, start: () => Promise<T>): Promise<T> {
    if (this.#closing) throw this.#closedError();
    const op = start();
    this.#inflight.add(op);
    try {
      return await op;
    } catch (err) {
      throw storeUnavailable(err, what);
    } finally {
      this.#inflight.delete(op);
    }
  }

  async #query(sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> {
    return (await this.#connect()).query(sql, params);
  }

  async #read(sql: string, params: readonly unknown[]): Promise<readonly SqlRow[]> {
    const connection = await this.#connect();
    return connection.read === undefined
      ? connection.query(sql, params)
      : connection.read(sql, params);
  }

  /** Connects ahead of the first operation; a failure is left for that operation to report. */
  async warm(): Promise<void> {
    if (this.#closing !== undefined) return;
    // A failure is reported by kvSession() at startup; #connect() forgets it, so the next operation retries.
    await this.#connect();
  }

  #connect(): Promise<SqlConnection> {
    // A failed connect is forgotten so the next operation tries again (the server may be back).
    this.#connection ??= this.#dialect.connect().catch((err: unknown) => {
      this.#connection = undefined;
      throw err;
    });
    return this.#connection;
  }

  #closedError(): KvSessionError {
    return storeClosed(this.name);
  }
}

/** The keyv envelope text for `value`, identical to what Keyv itself writes for a string with a TTL. */
function envelope(value: string, expiresAt: number): string {
  return JSON.stringify({ value: escapeValue(value), expires: deadline(expiresAt) });
}

// Anything but a string with a numeric deadline was written by someone else: not a session.
function readEnvelope(text: unknown): StoreEntry | undefined {
  if (typeof text !== 'string') return undefined;
  let parsed: { value?: unknown; expires?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed.value !== 'string' || typeof parsed.expires !== 'number')
    return undefined;
  return { value: unescapeValue(parsed.value), expiresAt: parsed.expires };
}

// A non-finite deadline would serialize as null and leave a row no query can see or prune.
function deadline(expiresAt: number): number {
  if (!Number.isFinite(expiresAt)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_ARGUMENT',
      `expiresAt must be a finite time in ms, got ${String(expiresAt)}`,
    );
  }
  return expiresAt;
}
