import assert from 'node:assert/strict';
import type { SessionStore } from '../src/index.js';
import type { Suite } from './util.js';
import {
  HOUR,
  need,
  SHORT_MS,
  TWO_STEP_MS,
  assertEntry,
  createExpiring,
  inMs,
  randomKey,
  waitPast,
  withStore,
} from './util.js';

/** Registers the prune group: prune() removes exactly the expired entries and says how many. */
export function pruneTests(suite: Suite): void {
  const { test } = suite;

  test('prune() deletes the expired entries, resolves how many, and leaves live ones untouched', () =>
    withStore(suite, async (store) => {
      const deadlines: number[] = [];
      for (let i = 0; i < 3; i++)
        deadlines.push(await createExpiring(store, randomKey(), `expired ${i}`));
      const live = [randomKey(), randomKey()];
      const liveUntil = inMs(HOUR);
      for (const key of live) await store.create(key, `live ${key}`, liveUntil);
      await waitPast(suite, Math.max(...deadlines));
      assertPruned(store, await need(store, 'prune')(), 3);
      assert.equal(await need(store, 'count')(), 2);
      for (const key of live) await assertEntry(store, key, `live ${key}`, liveUntil);
      assert.equal(await need(store, 'prune')(), 0);
    }));

  test('prune() on an empty prefix resolves 0', () =>
    withStore(suite, async (store) => {
      assert.equal(await need(store, 'prune')(), 0);
    }));

  test('prune() with nothing expired resolves 0 and keeps every entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, 'v', expiresAt);
      await store.create('user:' + randomKey(), '{"s":{}}', expiresAt);
      assert.equal(await need(store, 'prune')(), 0);
      await assertEntry(store, key, 'v', expiresAt);
      assert.equal(await need(store, 'count')(), 1);
    }));

  test('prune() removes an entry whose deadline was shortened by touch()', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      const expiresAt = inMs(SHORT_MS);
      assert.equal(await store.touch(key, expiresAt), true);
      await waitPast(suite, expiresAt);
      assertPruned(store, await need(store, 'prune')(), 1);
      assert.equal(await need(store, 'count')(), 0);
    }));

  test('prune() keeps an entry whose deadline was extended by touch()', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const original = await createExpiring(store, key, 'v', TWO_STEP_MS);
      const extended = inMs(HOUR);
      assert.equal(await store.touch(key, extended), true);
      await waitPast(suite, original);
      assert.equal(await need(store, 'prune')(), 0);
      await assertEntry(store, key, 'v', extended);
    }));

  test('count() counts live session records only: not expired ones, not index records', () =>
    withStore(suite, async (store) => {
      const expiresAt = await createExpiring(store, randomKey(), 'expired');
      await store.create(randomKey(), 'live 1', inMs(HOUR));
      await store.create(randomKey(), 'live 2', inMs(HOUR));
      await store.create('user:' + randomKey(), '{"s":{}}', inMs(HOUR));
      await waitPast(suite, expiresAt);
      assert.equal(await need(store, 'count')(), 2);
    }));
}

// A backend that expires entries by itself may have removed some before prune() ran.
function assertPruned(store: SessionStore, pruned: number, expired: number): void {
  if (store.capabilities.nativeExpiry)
    assert.ok(pruned >= 0 && pruned <= expired, `prune() resolved ${pruned}`);
  else assert.equal(pruned, expired);
}
