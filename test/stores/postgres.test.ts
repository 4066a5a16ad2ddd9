import pg from 'pg';
import { afterAll, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createPostgresStore } from '../../stores/postgres.js';
import { DATABASE_URL, RUN_ID, describeWithServer } from '../helpers/services.js';

// A table of this run's own, so parallel runs never see each other's rows or schema.
const table = `kvsession_test_${RUN_ID}`;

await describeWithServer('postgres store', DATABASE_URL, () => {
  afterAll(async () => {
    const client = new pg.Client(DATABASE_URL);
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });
  runStoreConformance(
    it,
    ({ prefix }) => createPostgresStore({ url: DATABASE_URL, table, prefix, max: 4 }),
    { merge: true },
  );
});
