import { join } from 'node:path';
import { expect } from 'vitest';
import { DATABASE_URL, REDIS_URL, RUN_ID, randomPrefix } from '../../helpers/services.js';
import { TEST_SECRET } from '../../helpers/app.js';
import { collect, startFromSource } from '../../e2e/from-source.js';
import { createStore } from '../../../stores/index.js';
import { createPostgresStore } from '../../../stores/postgres.js';
import { dropTables } from '../../helpers/pg-tables.js';

// Guards against a child that never exits; an exit after this counts as kept alive.
export const EXIT_LIMIT_MS = 20_000;

/** The URL the idle child opens for each registered store (`dir` holds the local ones). */
export function idleUrl(storeName: string, dir: string): string | undefined {
  const urls: Readonly<Record<string, string>> = {
    memory: 'memory://',
    file: `file://${join(dir, 'idle')}`,
    sqlite: `sqlite://${join(dir, 'idle.db')}`,
    redis: REDIS_URL,
    postgres: DATABASE_URL,
  };
  return urls[storeName];
}

/**
 * Runs children/idle-exit.ts over `url`: kvSession with pruneInterval 300 ms, used once, never
 * closed. Asserts the process exited by itself, cleanly, once its own last timer had fired.
 */
export async function expectExitsByItself(url: string): Promise<void> {
  const prefix = randomPrefix('idle');
  // Postgres gets a table of the test's own, dropped here: the default one would outlive the run.
  const table = url.startsWith('postgres') ? `kvsession_idle_${RUN_ID}` : undefined;
  const args = table === undefined ? [url, prefix] : [url, prefix, table];
  const child = startFromSource('test/reliability/children/idle-exit.ts', args, {
    env: { KVSESSION_TEST_SECRET: TEST_SECRET },
  });
  const result = await collect(child, EXIT_LIMIT_MS);
  // The child never closes its store on purpose; the session it saved is removed here.
  const store =
    table === undefined
      ? createStore(url, { prefix })
      : createPostgresStore({ url, table, prefix });
  await store.clear();
  await store.close();
  if (table !== undefined) await dropTables([table]);
  expect(result).toMatchObject({
    status: 0,
    signal: null,
    stdout: 'used 200\nwaited\n',
    stderr: '',
  });
}
