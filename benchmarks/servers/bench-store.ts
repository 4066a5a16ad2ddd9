import pg from 'pg';
import type { FullSessionStore } from '../../src/store.js';
import { createStore } from '../../stores/index.js';
import { createPostgresStore } from '../../stores/postgres.js';

/** A benchmark server's store, and what to remove once it has been cleared and closed. */
export interface BenchStore {
  readonly store: FullSessionStore;
  /** Drops the run's own table (PostgreSQL); nothing to do for the other stores. */
  readonly removeAfter: () => Promise<void>;
}

/**
 * The store a benchmark server measures. On PostgreSQL it gets `table`, named for the run, and drops
 * it on exit: a store URL names no table, and the default `kvsession` table would stay behind, empty,
 * in the shared database after every run.
 */
export function benchStore(url: string, prefix: string, table: string | undefined): BenchStore {
  if (table === undefined || !/^postgres(ql)?:/i.test(url))
    return { store: createStore(url, { prefix }), removeAfter: async () => {} };
  return {
    store: createPostgresStore({ url, prefix, table }),
    async removeAfter() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        await client.end();
      }
    },
  };
}
