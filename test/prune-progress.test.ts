import { afterEach, describe, expect, it, vi } from 'vitest';
import { guardStore } from '../src/guarded-store.js';
import { MemoryStore } from '../stores/memory.js';
import { createSqliteStore } from '../stores/sqlite.js';
import { createFileStore } from '../stores/file.js';
import { createKeyvStore } from '../stores/keyv.js';
import Keyv from 'keyv';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A prune of a million expired records takes many batches; the store timeout bounds each batch,
// not the whole prune (which used to fail every prune longer than 2 s, the work going on unseen).
describe('prune progress and the store timeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the SQLite store reports progress once per batch of 500 deleted rows', async () => {
    const store = createSqliteStore({ url: 'sqlite://:memory:', prefix: 'p:' });
    try {
      const past = Date.now() - 1000;
      await Promise.all(
        Array.from({ length: 1200 }, (_, i) => store.create(`gone${i}`, 'v', past)),
      );
      await store.create('live', 'v', Date.now() + 60_000);
      let beats = 0;
      expect(await store.prune(() => beats++)).toBe(1200);
      expect(beats).toBe(3); // 500 + 500 + 200
      expect((await store.get('live'))?.value).toBe('v');
    } finally {
      await store.close();
    }
  });

  it('the file store reports progress once per 200 records examined', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsession-prune-progress-'));
    const store = createFileStore({ dir, prefix: 'p:' });
    try {
      const past = Date.now() - 1000;
      await Promise.all(Array.from({ length: 450 }, (_, i) => store.create(`gone${i}`, 'v', past)));
      await store.create('live', 'v', Date.now() + 60_000);
      let beats = 0;
      expect(await store.prune?.(() => beats++)).toBe(450);
      expect(beats).toBe(2); // 451 examined: after the 200th and the 400th
      expect((await store.get('live'))?.value).toBe('v');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a store over any Keyv instance reports progress once per 200 entries examined', async () => {
    const store = createKeyvStore(new Keyv(), { prefix: 'p:' });
    try {
      const past = Date.now() + 30;
      await Promise.all(Array.from({ length: 400 }, (_, i) => store.create(`gone${i}`, 'v', past)));
      await store.create('live', 'v', Date.now() + 60_000);
      await new Promise((resolve) => setTimeout(resolve, 40));
      let beats = 0;
      expect(await store.prune?.(() => beats++)).toBe(400);
      expect(beats).toBe(2); // 401 examined
      expect((await store.get('live'))?.value).toBe('v');
    } finally {
      await store.close();
    }
  });

  /** A memory store whose prune takes `batches` batches of `batchMs` each. */
  function slowPruning(batches: number, batchMs: number): MemoryStore {
    const store = new MemoryStore({ prefix: 'p:' });
    store.prune = async (progress?: () => void): Promise<number> => {
      for (let i = 0; i < batches; i++) {
        await new Promise((resolve) => setTimeout(resolve, batchMs));
        progress?.();
      }
      return batches;
    };
    return store;
  }

  it('a guarded prune of many batches, each within the timeout, resolves however long it takes', async () => {
    vi.useFakeTimers();
    const guarded = guardStore(slowPruning(8, 150), 200);
    const pruned = guarded.prune?.();
    await vi.advanceTimersByTimeAsync(8 * 150);
    await expect(pruned).resolves.toBe(8);
  });

  it('a guarded prune whose one batch outlasts the timeout rejects with ERR_KVSESSION_STORE_TIMEOUT', async () => {
    vi.useFakeTimers();
    const guarded = guardStore(slowPruning(3, 250), 200);
    const pruned = guarded.prune?.();
    const outcome = expect(pruned).rejects.toMatchObject({ code: 'ERR_KVSESSION_STORE_TIMEOUT' });
    await vi.advanceTimersByTimeAsync(250);
    await outcome;
  });
});
