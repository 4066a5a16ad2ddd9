import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';

// npm test against shared servers: say which Redis database and PostgreSQL database the run uses,
// create the database if it is missing, and at the end remove any key or table the run left behind
// and fail the run for it. Every test names its keys and tables with RUN_ID (test/helpers/services.ts),
// which starts with this tag, and removes them itself: a leftover is a test's defect.
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Where a URL points, without its credentials: safe to print. */
function where(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '' ? '/' : u.pathname}`;
}

/** Runs once before every test file: announces the servers and creates the PostgreSQL database if needed. */
export async function setup(): Promise<void> {
  const tag = process.env['KVSESSION_TEST_RUN'] ?? `r${randomBytes(3).toString('hex')}`;
  process.env['KVSESSION_TEST_RUN'] = tag;
  const db = new URL(REDIS_URL).pathname.slice(1) || '0';
  console.log(
    `kvsession tests (run ${tag}): Redis ${where(REDIS_URL)} database ${db}, PostgreSQL ${where(DATABASE_URL)}`,
  );
  await createDatabase().catch((err: unknown) =>
    console.log(`PostgreSQL not prepared: ${err instanceof Error ? err.message : String(err)}`),
  );
}

/**
 * Runs once after every test file: removes every key and table named for this run, so a run leaves
 * nothing behind even when a test failed before its own cleanup, and fails the run if there was any,
 * saying what, so the test that left it can be found (run the store test files one by one) and fixed.
 */
export async function teardown(): Promise<void> {
  const tag = process.env['KVSESSION_TEST_RUN'] ?? '';
  if (tag === '') return;
  const keys = await sweepKeys(tag).catch(() => 0);
  const tables = await sweepTables(tag).catch(() => [] as string[]);
  if (keys === 0 && tables.length === 0) return;
  console.error(
    `kvsession tests: FAILED: tests left ${keys} Redis keys and tables [${tables.join(', ')}] behind (removed now)`,
  );
  // A throw here is only logged by vitest; the exit code is what fails `npm test`.
  process.exitCode = 1;
}

async function createDatabase(): Promise<void> {
  const target = new URL(DATABASE_URL);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.href, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      console.log(`created PostgreSQL database ${name}`);
    }
  } finally {
    await client.end();
  }
}

async function sweepKeys(tag: string): Promise<number> {
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    let removed = 0;
    for await (const batch of client.scanIterator({ MATCH: `*kvtest:${tag}*`, COUNT: 1000 })) {
      if (batch.length > 0) removed += await client.del(batch);
    }
    return removed;
  } finally {
    client.destroy();
  }
}

async function sweepTables(tag: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE tablename LIKE '%' || $1 || '%'",
      [tag],
    );
    for (const { tablename } of rows)
      await client.query(`DROP TABLE IF EXISTS ${client.escapeIdentifier(tablename)}`);
    return rows.map((r) => r.tablename);
  } finally {
    await client.end();
  }
}
