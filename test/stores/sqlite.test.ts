import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createSqliteStore } from '../../stores/sqlite.js';

// One file database shared by every store of the run, as several app processes would share it.
const dir = mkdtempSync(join(tmpdir(), 'kvsession-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite store (file, WAL)', () => {
  runStoreConformance(it, ({ prefix }) =>
    createSqliteStore({ url: `sqlite://${join(dir, 'sessions.db')}`, prefix }),
  );
});
