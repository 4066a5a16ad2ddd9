import type { SessionStore } from '../../src/store.js';
import { createMemoryStore } from '../../stores/memory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from '../../stores/file.js';
import { randomPrefix } from './services.js';

// One directory per test process; stores inside it are isolated by prefix, like on a shared server.
const fileDir = mkdtempSync(join(tmpdir(), 'kvsession-test-'));
process.once('exit', () => rmSync(fileDir, { recursive: true, force: true }));

/** One built-in store as the cross-store tests see it. */
export interface StoreUnderTest {
  /** Display name, e.g. 'redis'. */
  readonly name: string;
  /** A URL to probe before running (undefined: always available). */
  readonly serverUrl: string | undefined;
  /** Makes a fresh store with a random prefix (or the one given). */
  make(prefix?: string): SessionStore | Promise<SessionStore>;
}

/** Every built-in store, for suites that run unchanged against all of them. */
export const STORES_UNDER_TEST: readonly StoreUnderTest[] = [
  { name: 'memory', serverUrl: undefined, make: (prefix = randomPrefix('mem')) => createMemoryStore({ prefix }) },
  { name: 'file', serverUrl: undefined, make: (prefix = randomPrefix('file')) => createFileStore({ dir: fileDir, prefix }) },
];
