import assert from 'node:assert/strict';
import type { SessionStore } from '../../src/store.js';
import type { Suite } from './util.js';
import { assertEntry, inMs, randomKey, waitPast, withStore } from './util.js';

const HOUR = 3_600_000;
const SHORT = 250;

/** Registers the prune group: prune() removes exactly the expired entries and says how many. */
export function pruneTests(suite: Suite): void {
  const { test } = suite;

  test('prune() deletes the expired entries, resolves how many, and leaves live ones untouched', () =>
    withStore(suite, async (store) => {
      const expiresAt = inMs(SHORT);
      for (let i = 0; i < 3; i++) await store.create(randomKey(), `expired ${i}`, expiresAt);
      const live = [randomKey(), randomKey()];
      const liveUntil = inMs(HOUR);
      for (const key of live) await store.create(key, `live ${key}`, liveUntil);
      await waitPast(suite, expiresAt);
      assertPruned(store, await store.prune(), 3);
      assert.equal(await store.count(), 2);
      for (const key of live) await assertEntry(store, key, `live ${key}`, liveUntil);
      assert.equal(await store.prune(), 0);
    }));

  test('prune() on an empty prefix resolves 0', () =>
    withStore(suite, async (store) => {
      assert.equal(await store.prune(), 0);
    }));

  test('prune() with nothing expired resolves 0 and keeps every entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, 'v', expiresAt);
      await store.create('user:' + randomKey(), '{"s":{}}', expiresAt);
      assert.equal(await store.prune(), 0);
      await assertEntry(store, key, 'v', expiresAt);
      assert.equal(await store.count(), 1);
    }));

  test('prune() removes an entry whose deadline was shortened by touch()', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      const expiresAt = inMs(SHORT);
      await store.touch(key, expiresAt);
      await waitPast(suite, expiresAt);
      assertPruned(store, await store.prune(), 1);
      assert.equal(await store.count(), 0);
    }));

  test('prune() keeps an entry whose deadline was extended by touch()', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const original = inMs(SHORT);
      await store.create(key, 'v', original);
      const extended = inMs(HOUR);
      await store.touch(key, extended);
      await waitPast(suite, original);
      assert.equal(await store.prune(), 0);
      await assertEntry(store, key, 'v', extended);
    }));

  test('count() counts live session records only: not expired ones, not index records', () =>
    withStore(suite, async (store) => {
      const expiresAt = inMs(SHORT);
      await store.create(randomKey(), 'expired', expiresAt);
      await store.create(randomKey(), 'live 1', inMs(HOUR));
      await store.create(randomKey(), 'live 2', inMs(HOUR));
      await store.create('user:' + randomKey(), '{"s":{}}', inMs(HOUR));
      await waitPast(suite, expiresAt);
      assert.equal(await store.count(), 2);
    }));
}

// A backend that expires entries by itself may have removed some before prune() ran.
function assertPruned(store: SessionStore, pruned: number, expired: number): void {
  if (store.capabilities.nativeExpiry) assert.ok(pruned >= 0 && pruned <= expired, `prune() resolved ${pruned}`);
  else assert.equal(pruned, expired);
}
