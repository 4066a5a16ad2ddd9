import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import Keyv from 'keyv';
import KeyvPostgres from '@keyv/postgres';
import pg from 'pg';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import type { FullSessionStore } from '../../src/store.js';
import { createPostgresStore } from '../../stores/postgres.js';
import type { PostgresStoreOptions } from '../../stores/postgres.js';
import { DATABASE_URL, RUN_ID, describeWithServer, randomPrefix } from '../helpers/services.js';
import { expectCloseFinishesWork, rejectionOf } from '../helpers/codes.js';

const HOUR = 3_600_000;
// Tables of this run's own, dropped at the end, so parallel runs never share schema or rows.
const table = `kvsession_spec_${RUN_ID}`;
const tables = [table];
const open: FullSessionStore[] = [];
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });

function store(options: Partial<PostgresStoreOptions> = {}): FullSessionStore {
  const made = createPostgresStore({
    url: DATABASE_URL,
    table,
    prefix: randomPrefix('pg'),
    max: 2,
    ...options,
  });
  open.push(made);
  return made;
}

/** A TCP server that accepts connections and never answers, like a hung database. */
async function silentServer(): Promise<{ url: string; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `postgres://postgres@127.0.0.1:${port}/test`, server, sockets };
}

await describeWithServer('postgres store specifics', DATABASE_URL, () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    for (const name of tables) await admin.query(`DROP TABLE IF EXISTS ${name}`);
    await admin.end();
  });

  it('gets issued together share one query: live, missing, expired and repeated keys each answered as a lone get would', async () => {
    const s = store();
    await s.create('live1', 'a', Date.now() + HOUR);
    await s.create('live2', 'b', Date.now() + HOUR);
    await s.create('expired', 'c', Date.now() + 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const keys = ['live1', 'missing', 'live2', 'expired', 'live1', 'live2'];
    const lone: unknown[] = [];
    for (const k of keys) lone.push((await s.get(k))?.value);
    const query = vi.spyOn(pg.Pool.prototype, 'query');
    const together = await Promise.all(keys.map((k) => s.get(k)));
    expect(together.map((e) => e?.value)).toEqual(lone);
    expect(lone).toEqual(['a', undefined, 'b', undefined, 'a', 'b']);
    expect(query).toHaveBeenCalledTimes(1);
  });

  it('close() on one store leaves another store on the same URL working', async () => {
    const [a, b] = [store(), store()];
    await a.create('k', 'a', Date.now() + HOUR);
    await b.create('k', 'b', Date.now() + HOUR);
    await a.close();
    expect(await rejectionOf(a.get('k'))).toMatchObject({ code: 'ERR_KVSESSION_STORE_CLOSED' });
    expect((await b.get('k'))?.value).toBe('b');
    expect(await b.touch('k', Date.now() + 2 * HOUR)).toBe(true);
  });

  it('a record our store wrote is read by plain Keyv over @keyv/postgres, and the reverse', async () => {
    const prefix = randomPrefix('pg');
    const s = store({ prefix });
    const expiresAt = Date.now() + HOUR;
    await s.create('ours', ':starts with a colon', expiresAt);
    const keyv = new Keyv({
      store: new KeyvPostgres({ uri: DATABASE_URL, table }),
      namespace: prefix.slice(0, -1),
    });
    try {
      expect(await keyv.getRaw('ours')).toEqual({
        value: ':starts with a colon',
        expires: expiresAt,
      });
      await keyv.set('theirs', '{"c":1}', HOUR);
      expect((await s.get('theirs'))?.value).toBe('{"c":1}');
      await s.touch('ours', expiresAt + 1);
      expect(await keyv.getRaw('ours')).toEqual({
        value: ':starts with a colon',
        expires: expiresAt + 1,
      });
    } finally {
      await keyv.disconnect(); // ends @keyv/postgres's global pool; our stores own theirs
    }
  });

  it('prune() reaches expired rows through the expiry index (EXPLAIN)', async () => {
    const prefix = randomPrefix('pg');
    const s = store({ prefix });
    await s.create('warm', 'v', Date.now() + HOUR); // creates table and index
    // Enough live rows that a sequential scan would cost more than the index, as in production.
    await admin.query(
      `INSERT INTO ${table} (key, value) SELECT $1 || 'live' || i, json_build_object('value', 'v', 'expires', $2::numeric)::text FROM generate_series(1, 5000) i`,
      [prefix, Date.now() + HOUR],
    );
    await admin.query(`ANALYZE ${table}`);
    const query = vi.spyOn(pg.Pool.prototype, 'query');
    expect(await s.prune()).toBe(0);
    // The store sends named statements ({ name, text, values }); find the batched DELETE among them.
    const statements = (query.mock.calls as unknown[][]).map(
      ([arg]) => arg as { text?: unknown; values?: unknown[] },
    );
    const call = statements.find(
      (st) =>
        typeof st.text === 'string' && st.text.startsWith('DELETE') && st.text.includes('LIMIT'),
    );
    expect(call).toBeDefined();
    const { text: sql, values: params } = call as { text: string; values: unknown[] };
    const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    console.log(`postgres prune plan:\n${plan}`);
    expect(plan).toMatch(
      new RegExp(`Index (Only )?Scan using ${table}_expires|Bitmap Index Scan on ${table}_expires`),
    );
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('prune() stays on the expiry index when most rows are expired and the live ones come first (EXPLAIN)', async () => {
    // A night of expired sessions beside the day's live ones, live rows first in the heap: without
    // ORDER BY, Postgres chose a sequential scan that read every live row again for each batch.
    const prefix = randomPrefix('pg');
    const s = store({ prefix });
    await s.create('warm', 'v', Date.now() + HOUR);
    const query = vi.spyOn(pg.Pool.prototype, 'query');
    await s.prune();
    const call = (query.mock.calls as unknown[][])
      .map(([arg]) => arg as { text?: unknown; values?: unknown[] })
      .find(
        (st) =>
          typeof st.text === 'string' && st.text.startsWith('DELETE') && st.text.includes('LIMIT'),
      );
    expect(call).toBeDefined();
    const { text: sql, values: params } = call as { text: string; values: unknown[] };
    const insert = `INSERT INTO ${table} (key, value) SELECT $1 || $2 || i, json_build_object('value', 'v', 'expires', $3::numeric)::text FROM generate_series(1, $4::int) i`;
    await admin.query(insert, [prefix, 'live', Date.now() + HOUR, 2_000]);
    await admin.query(insert, [prefix, 'expired', Date.now() - HOUR, 40_000]);
    await admin.query(`ANALYZE ${table}`);
    const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(new RegExp(`Index (Only )?Scan using ${table}_expires`));
    expect(plan).not.toMatch(/Seq Scan/);
    expect(await s.prune()).toBe(40_000);
  });

  it('create(key) from six fresh stores racing to create one new table all succeed', async () => {
    const fresh = `kvsession_race_${RUN_ID}`;
    tables.push(fresh);
    const prefix = randomPrefix('pg');
    const stores = Array.from({ length: 6 }, () => store({ table: fresh, prefix, max: 1 }));
    const results = await Promise.all(
      stores.map((s, i) => s.create(`k${i}`, 'v', Date.now() + HOUR)),
    );
    expect(results).toEqual([true, true, true, true, true, true]);
    expect(await stores[0]!.count()).toBe(6);
  });

  it('count() and clear() keep to the exact prefix on a key column with a locale collation', async () => {
    const icu = `kvsession_icu_${RUN_ID}`;
    tables.push(icu);
    // As a table created by @keyv/postgres in a database whose default collation is a locale one.
    await admin.query(
      `CREATE TABLE ${icu} (key VARCHAR(255) COLLATE "en-US-x-icu" PRIMARY KEY, value TEXT)`,
    );
    const base = randomPrefix('pg');
    const colon = store({ table: icu, prefix: `${base}p:` });
    const semicolon = store({ table: icu, prefix: `${base}p;` });
    await colon.create('b', 'v', Date.now() + HOUR);
    await colon.create('c', 'v', Date.now() + HOUR);
    await semicolon.create('a', 'v', Date.now() + HOUR);
    expect(await colon.count()).toBe(2);
    await colon.clear();
    expect(await colon.count()).toBe(0);
    expect(await semicolon.count()).toBe(1);
  });

  it('touch(key) on a row another transaction holds rejects with ERR_KVSESSION_STORE_UNAVAILABLE, then works', async () => {
    const prefix = randomPrefix('pg');
    const s = store({ prefix, timeout: 300 });
    await s.create('k', 'v', Date.now() + HOUR);
    const holder = await admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT key FROM ${table} WHERE key = $1 FOR UPDATE`, [`${prefix}k`]);
      expect(await rejectionOf(s.touch('k', Date.now() + 2 * HOUR))).toMatchObject({
        name: 'KvSessionError',
        code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
      });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await s.touch('k', Date.now() + 2 * HOUR)).toBe(true);
  });

  it('get(key) against a closed port rejects with ERR_KVSESSION_STORE_UNAVAILABLE', async () => {
    const { url, server } = await silentServer();
    server.close(); // the port is now free: connections are refused
    const s = store({ url, timeout: 300 });
    expect(await rejectionOf(s.get('k'))).toMatchObject({
      name: 'KvSessionError',
      code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
    });
  });

  it('get(key) against a server that never answers rejects with ERR_KVSESSION_STORE_UNAVAILABLE instead of hanging', async () => {
    const { url, server, sockets } = await silentServer();
    try {
      const s = store({ url, timeout: 300 });
      expect(await rejectionOf(s.get('k'))).toMatchObject({
        name: 'KvSessionError',
        code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  }, 10_000);

  it('close() lets operations already under way finish, then rejects later ones with ERR_KVSESSION_STORE_CLOSED', async () => {
    await expectCloseFinishesWork(store());
  });

  it('createPostgresStore() with a non-postgres URL, unsafe table or bad max throws a coded error at once', () => {
    expect(() => createPostgresStore('mysql://x')).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
    );
    expect(() => createPostgresStore({ url: DATABASE_URL, table: 'x"; DROP TABLE y; --' })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() => createPostgresStore({ url: DATABASE_URL, max: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
  });
});
