import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import sqlite3 from 'sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { FullSessionStore } from '../../src/store.js';
import { createSqliteStore } from '../../stores/sqlite.js';
import { randomPrefix } from '../helpers/services.js';
import { expectCloseFinishesWork, rejectionOf } from '../helpers/codes.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'kvsession-sqlite-specific-'));
const file = join(dir, 'sessions.db');
const url = `sqlite://${file}`;
const open: FullSessionStore[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(open.splice(0).map((store) => store.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function store(options: { url?: string; prefix?: string; table?: string } = {}): FullSessionStore {
  const made = createSqliteStore({
    url: options.url ?? url,
    prefix: options.prefix ?? randomPrefix('sqlite'),
    ...(options.table ? { table: options.table } : {}),
  });
  open.push(made);
  return made;
}

/** Runs one statement on a connection of the test's own, outside the store. */
async function raw<T>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = new sqlite3.Database(path);
  try {
    return await new Promise<T[]>((resolve, reject) =>
      db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))),
    );
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

describe('sqlite store specifics', () => {
  it('createSqliteStore(url) returns without opening the file; the first operation creates it', async () => {
    const path = join(dir, 'lazy.db');
    const s = store({ url: `sqlite://${path}` });
    expect(existsSync(path)).toBe(false);
    expect(await s.get('x')).toBeUndefined();
    expect(existsSync(path)).toBe(true);
  });

  it('a file database runs in WAL mode (PRAGMA journal_mode returns wal)', async () => {
    const path = join(dir, 'wal.db');
    await store({ url: `sqlite://${path}` }).create('k', 'v', Date.now() + HOUR);
    expect(await raw<{ journal_mode: string }>(path, 'PRAGMA journal_mode')).toEqual([
      { journal_mode: 'wal' },
    ]);
  });

  it('prune() searches the expiry index, not the whole table (EXPLAIN QUERY PLAN)', async () => {
    const all = vi.spyOn(sqlite3.Database.prototype, 'all');
    const s = store();
    await s.create('gone', 'v', Date.now() - 1);
    expect(await s.prune()).toBe(1);
    const call = all.mock.calls.find(
      ([sql]) => typeof sql === 'string' && sql.startsWith('DELETE') && sql.includes('LIMIT'),
    );
    expect(call).toBeDefined();
    const [sql, params] = call as unknown as [string, unknown[]];
    const plan = await raw<{ detail: string }>(file, `EXPLAIN QUERY PLAN ${sql}`, params);
    console.log(`sqlite prune plan:\n${plan.map((row) => row.detail).join('\n')}`);
    expect(plan.map((row) => row.detail)).toContain(
      'SEARCH kvsession USING INDEX kvsession_expires (<expr><?)',
    );
    expect(plan.some((row) => row.detail.startsWith('SCAN'))).toBe(false);
  });

  it('prune() deletes more expired records than one batch holds and resolves the exact count', async () => {
    const prefix = randomPrefix('sqlite');
    const s = store({ prefix });
    await s.create('live', 'v', Date.now() + HOUR);
    // Written in one statement, in keyv's envelope format, as another Keyv client could have written them.
    const insert = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
      INSERT INTO kvsession (key, value) SELECT ? || 'k' || i, json_object('value', 'v', 'expires', ?) FROM n`;
    await raw(file, insert, [prefix, Date.now() - 1]);
    expect(await s.prune()).toBe(1234);
    expect(await s.count()).toBe(1);
  });

  it('a record our store wrote is read by plain Keyv over @keyv/sqlite, and the reverse', async () => {
    const prefix = randomPrefix('sqlite');
    const s = store({ prefix });
    const keyv = new Keyv({
      store: new KeyvSqlite({ uri: url, table: 'kvsession' }),
      namespace: prefix.slice(0, -1),
    });
    try {
      const expiresAt = Date.now() + HOUR;
      await s.create('ours', ':starts with a colon', expiresAt);
      expect(await keyv.getRaw('ours')).toEqual({
        value: ':starts with a colon',
        expires: expiresAt,
      });
      await keyv.set('theirs', '{"c":1}', HOUR);
      expect((await s.get('theirs'))?.value).toBe('{"c":1}');
    } finally {
      await keyv.disconnect();
    }
  });

  it('create(key) from two stores on one file resolves true exactly once', async () => {
    const prefix = randomPrefix('sqlite');
    const [a, b] = [store({ prefix }), store({ prefix })];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).create('same', `v${i}`, Date.now() + HOUR),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await a.get('same'))?.value).toBe(`v${winner}`);
  });

  it('concurrent saves share one commit (one BEGIN … COMMIT), and every one of them is on disk afterwards', async () => {
    // The adapter binds Database#all when it connects, so the spy goes in before the store's first use.
    const original = sqlite3.Database.prototype.all;
    let statements: string[] = [];
    vi.spyOn(sqlite3.Database.prototype, 'all').mockImplementation(function (
      this: sqlite3.Database,
      ...args: unknown[]
    ) {
      statements.push(String(args[0]));
      return original.apply(this, args as Parameters<sqlite3.Database['all']>);
    } as sqlite3.Database['all']);
    const s = store();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => s.create(k, 'v0', Date.now() + HOUR)));
    statements = [];
    const results = await Promise.all(keys.map((k) => s.update(k, 'v0', 'v1', Date.now() + HOUR)));
    expect(results.every(Boolean)).toBe(true);
    expect(statements.filter((sql) => sql.startsWith('UPDATE'))).toHaveLength(20);
    expect(statements.filter((sql) => sql === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(statements.filter((sql) => sql === 'COMMIT')).toHaveLength(1);
    // Read back through a connection of our own: the group is committed, not just visible to the store's connection.
    const prefix = (s as { prefix: string }).prefix;
    const rows = await raw<{ value: string }>(
      file,
      `SELECT value FROM kvsession WHERE key >= ? AND key < ?`,
      [prefix, `${prefix}~`],
    );
    expect(rows.map((r) => (JSON.parse(r.value) as { value: string }).value)).toEqual(
      keys.map(() => 'v1'),
    );
  });

  it('a group that cannot take the write lock fails every save in it with a coded error; the next group commits', async () => {
    const s = createSqliteStore({ url, prefix: randomPrefix('sqlite'), timeout: 200 });
    open.push(s);
    await Promise.all(['a', 'b'].map((k) => s.create(k, 'v0', Date.now() + HOUR)));
    // Another connection holds the write lock past the store's busy timeout.
    const holder = new sqlite3.Database(file);
    await new Promise<void>((resolve, reject) =>
      holder.exec('BEGIN IMMEDIATE', (err) => (err ? reject(err) : resolve())),
    );
    try {
      const outcomes = await Promise.all(
        ['a', 'b'].map((k) => rejectionOf(s.update(k, 'v0', 'v1', Date.now() + HOUR))),
      );
      expect(outcomes).toMatchObject([
        { code: 'ERR_KVSESSION_STORE_UNAVAILABLE' },
        { code: 'ERR_KVSESSION_STORE_UNAVAILABLE' },
      ]);
    } finally {
      await new Promise<void>((resolve) =>
        holder.exec('ROLLBACK', () => holder.close(() => resolve())),
      );
    }
    expect(
      await Promise.all(['a', 'b'].map((k) => s.update(k, 'v0', 'v1', Date.now() + HOUR))),
    ).toEqual([true, true]);
    expect((await s.get('a'))?.value).toBe('v1');
  });

  it('sqlite://:memory: stores hold a private database each', async () => {
    const prefix = randomPrefix('sqlite');
    const [a, b] = [
      store({ url: 'sqlite://:memory:', prefix }),
      store({ url: 'sqlite://:memory:', prefix }),
    ];
    expect(await a.create('k', 'a', Date.now() + HOUR)).toBe(true);
    expect(await b.create('k', 'b', Date.now() + HOUR)).toBe(true);
    expect((await a.get('k'))?.value).toBe('a');
  });

  it('get(key) on an unopenable path rejects with ERR_KVSESSION_STORE_UNAVAILABLE, then works once the path exists', async () => {
    const missing = join(dir, 'not-yet', 'sessions.db');
    const s = store({ url: `sqlite://${missing}` });
    expect(await rejectionOf(s.get('k'))).toMatchObject({
      name: 'KvSessionError',
      code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
    });
    mkdirSync(join(dir, 'not-yet'));
    expect(await s.create('k', 'v', Date.now() + HOUR)).toBe(true);
  });

  it('close() lets operations already under way finish, then rejects later ones with ERR_KVSESSION_STORE_CLOSED', async () => {
    await expectCloseFinishesWork(store({ url: 'sqlite://:memory:' }));
  });

  it('createSqliteStore() with a non-sqlite URL or an unsafe table name throws a coded error at once', () => {
    expect(() => createSqliteStore('sqlite://')).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
    );
    expect(() => createSqliteStore('redis://x')).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
    );
    expect(() => createSqliteStore({ url, table: 'x; DROP TABLE y' })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() => createSqliteStore({ url, timeout: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
  });

  it('create(key, value, NaN) rejects with ERR_KVSESSION_BAD_ARGUMENT and writes nothing', async () => {
    const s = store();
    expect(await rejectionOf(s.create('k', 'v', Number.NaN))).toMatchObject({
      code: 'ERR_KVSESSION_BAD_ARGUMENT',
    });
    expect(await s.create('k', 'v', Date.now() + HOUR)).toBe(true);
  });

  it('a session read is answered while a save on the main connection waits for a lock held elsewhere', async () => {
    const path = join(dir, 'reader.db');
    const s = createSqliteStore({
      url: `sqlite://${path}`,
      prefix: randomPrefix('sqlite'),
      timeout: 5000,
    });
    open.push(s);
    await s.create('live', 'v', Date.now() + HOUR);
    // Another process's writer, as a second app instance or the CLI's prune would be.
    const other = new sqlite3.Database(path);
    const run = (sql: string): Promise<void> =>
      new Promise((resolve, reject) => other.run(sql, (err) => (err ? reject(err) : resolve())));
    try {
      await run('BEGIN IMMEDIATE');
      let saved = false;
      const save = s.create('new', 'v', Date.now() + HOUR).then((ok) => {
        saved = true;
        return ok;
      });
      // The save now waits in SQLite's busy handler on the main connection; on that one connection
      // this read would wait behind it until the lock is released (up to the 5 s store timeout).
      expect(await s.get('live')).toMatchObject({ value: 'v' });
      expect(saved).toBe(false);
      await run('COMMIT');
      expect(await save).toBe(true);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
