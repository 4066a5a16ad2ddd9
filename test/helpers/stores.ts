import type { FullSessionStore } from '../../src/store.js';
import { createMemoryStore } from '../../stores/memory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createFileStore } from '../../stores/file.js';
import { createSqliteStore } from '../../stores/sqlite.js';
import { createPostgresStore } from '../../stores/postgres.js';
import { createRedisStore } from '../../stores/redis.js';
import { DATABASE_URL, REDIS_URL, RUN_ID, probeTcp, randomPrefix } from './services.js';

// One directory per test process; stores inside it are isolated by prefix, like on a shared server.
const fileDir = mkdtempSync(join(tmpdir(), 'kvsession-test-'));
// Each test file loads this module afresh (pool: 'forks', isolated), so the file's end is the directory's:
// the process's 'exit' event never came for vitest's workers, and 24 directories were left per run.
afterAll(() => rmSync(fileDir, { recursive: true, force: true }));
// One Postgres table per test process, dropped when the file's tests end.
const pgTable = `kvsession_reg_${RUN_ID}`;
afterAll(async () => {
  if ((await probeTcp(DATABASE_URL)) !== undefined) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client(DATABASE_URL);
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${pgTable}`);
  await client.end();
});

/** One built-in store as the cross-store tests see it. */
export interface StoreUnderTest {
  /** Display name, e.g. 'redis'. */
  readonly name: string;
  /** A URL to probe before running (undefined: always available). */
  readonly serverUrl: string | undefined;
  /** The backend expires records itself (no background pruner runs on it). */
  readonly nativeExpiry: boolean;
  /** Conditional writes stay atomic when several processes share the backend. */
  readonly atomicAcrossProcesses: boolean;
  /** Makes a fresh store with a random prefix (or the one given). */
  make(prefix?: string): FullSessionStore | Promise<FullSessionStore>;
}

/** Every built-in store, for suites that run unchanged against all of them. */
export const STORES_UNDER_TEST: readonly StoreUnderTest[] = [
  {
    name: 'memory',
    serverUrl: undefined,
    nativeExpiry: false,
    atomicAcrossProcesses: false,
    make: (prefix = randomPrefix('mem')) => createMemoryStore({ prefix }),
  },
  {
    name: 'file',
    serverUrl: undefined,
    nativeExpiry: false,
    atomicAcrossProcesses: false,
    make: (prefix = randomPrefix('file')) => createFileStore({ dir: fileDir, prefix }),
  },
  {
    name: 'sqlite',
    serverUrl: undefined,
    nativeExpiry: false,
    atomicAcrossProcesses: true,
    make: (prefix = randomPrefix('sqlite')) =>
      createSqliteStore({ url: `sqlite://${join(fileDir, 'sessions.db')}`, prefix }),
  },
  {
    name: 'redis',
    serverUrl: REDIS_URL,
    nativeExpiry: true,
    atomicAcrossProcesses: true,
    make: (prefix = randomPrefix('redis')) => createRedisStore({ url: REDIS_URL, prefix }),
  },
  {
    name: 'postgres',
    serverUrl: DATABASE_URL,
    nativeExpiry: false,
    atomicAcrossProcesses: true,
    make: (prefix = randomPrefix('pg')) =>
      createPostgresStore({ url: DATABASE_URL, table: pgTable, prefix, max: 4 }),
  },
];
