import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createFileStore } from '../../stores/file.js';

const dir = mkdtempSync(join(tmpdir(), 'kvsession-file-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// All tests share one directory, so prefix isolation is exercised on real neighbours. The per-key
// queue makes in-process races safe, so the race tests pass although the store declares atomic: false.
runStoreConformance(it, ({ prefix }) => createFileStore({ dir, prefix }));
