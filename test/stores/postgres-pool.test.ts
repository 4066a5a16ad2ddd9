import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createPostgresStore } from '../../stores/postgres.js';
import {
  CONFORMANCE_PREFIX,
  DATABASE_URL,
  RUN_ID,
  describeWithServer,
  randomPrefix,
} from '../helpers/services.js';

const HOUR = 3_600_000;
const table = `kvsession_pool_${RUN_ID}`;

await describeWithServer('postgres store on an app-built pg.Pool', DATABASE_URL, () => {
  // One pool for every store of the suite: each test closes its store, so a close() that ended
  // the app's pool would fail every later test.
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  describe('conformance', () => {
    runStoreConformance(it, ({ prefix }) => createPostgresStore({ pool, table, prefix }), {
      merge: true,
      prefix: CONFORMANCE_PREFIX,
    });
  });

  it("close() leaves the app's pool open and usable", async () => {
    const store = createPostgresStore({ pool, table, prefix: randomPrefix('pool') });
    expect(await store.create('k', 'v', Date.now() + HOUR)).toBe(true);
    await store.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(pool.ending).toBe(false);
  });

  it('preparedStatements: false sends every statement unnamed; the default names them', async () => {
    const names = async (options: { preparedStatements?: boolean }): Promise<unknown[]> => {
      const store = createPostgresStore({ pool, table, prefix: randomPrefix('pool'), ...options });
      await store.create('k', 'v', Date.now() + HOUR); // connects and creates the table first
      const query = vi.spyOn(pool, 'query');
      await store.get('k');
      await store.update('k', 'v', 'w', Date.now() + HOUR);
      const seen = query.mock.calls.map(([config]) => (config as { name?: unknown }).name);
      query.mockRestore();
      await store.clear();
      await store.close();
      return seen;
    };
    expect(await names({ preparedStatements: false })).toEqual([undefined, undefined]);
    const named = await names({});
    expect(named).toHaveLength(2);
    for (const name of named) expect(name).toMatch(/^kvsession_[0-9a-f]{24}$/);
  });

  it('a url and a pool together, a pool that is not a pg.Pool, or a bad preparedStatements throw ERR_KVSESSION_BAD_OPTION', () => {
    expect(() => createPostgresStore({ pool, url: DATABASE_URL })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() => createPostgresStore({ pool: {} as pg.Pool })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    const bad = { pool, preparedStatements: 'no' } as unknown as { pool: pg.Pool };
    expect(() => createPostgresStore(bad)).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() => createPostgresStore({})).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
    );
  });
});
