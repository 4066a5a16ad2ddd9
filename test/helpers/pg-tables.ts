import pg from 'pg';
import { afterAll } from 'vitest';
import { DATABASE_URL, RUN_ID, probeTcp } from './services.js';

/**
 * A PostgreSQL table of the calling test file's own: named for the run (so the end-of-run sweep would
 * find it) and dropped when the file's tests end. Call it at the top of the file.
 */
export function fileTable(label: string): string {
  const table = `kvsession_${label}_${RUN_ID}`;
  afterAll(() => dropTables([table]));
  return table;
}

/** Drops tables this test process created; does nothing when PostgreSQL is not there. */
export async function dropTables(tables: readonly string[]): Promise<void> {
  if ((await probeTcp(DATABASE_URL)) !== undefined) return;
  const client = new pg.Client(DATABASE_URL);
  await client.connect();
  try {
    for (const table of tables)
      await client.query(`DROP TABLE IF EXISTS ${client.escapeIdentifier(table)}`);
  } finally {
    await client.end();
  }
}
