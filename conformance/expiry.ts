import assert from 'node:assert/strict';
import type { Suite } from './util.js';
import {
  HOUR,
  need,
  assertEntry,
  assertMissing,
  createExpiring,
  inMs,
  randomKey,
  waitPast,
  withStore,
} from './util.js';

/** Registers the expiry group: nothing past its deadline is ever returned or blocks a create. */
export function expiryTests(suite: Suite): void {
  const { test } = suite;

  test('get(key) resolves undefined once expiresAt has passed, without prune()', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await waitPast(suite, await createExpiring(store, key, 'v'));
      await assertMissing(store, key);
      // A second read must not bring it back either (no read-repair from a stale cache).
      await assertMissing(store, key);
    }));

  test('create(key) over an expired entry resolves true and stores the new value', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await waitPast(suite, await createExpiring(store, key, 'old'));
      const next = inMs(HOUR);
      assert.equal(await store.create(key, 'new', next), true);
      await assertEntry(store, key, 'new', next);
    }));

  test('update(key, expected) on an expired entry resolves false and does not revive it', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await waitPast(suite, await createExpiring(store, key, 'old'));
      assert.equal(await store.update(key, 'old', 'new', inMs(HOUR)), false);
      await assertMissing(store, key);
    }));

  test('touch(key) on an expired entry resolves false and does not revive it', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await waitPast(suite, await createExpiring(store, key, 'old'));
      assert.equal(await store.touch(key, inMs(HOUR)), false);
      await assertMissing(store, key);
    }));

  test('create(key, value, expiresAt) with an already-passed deadline is accepted and never returned', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      assert.equal(typeof (await store.create(key, 'v', Date.now() - 1000)), 'boolean');
      await assertMissing(store, key);
      assert.equal(await need(store, 'count')(), 0);
      // Nothing live was written, so a real create still succeeds.
      const expiresAt = inMs(HOUR);
      assert.equal(await store.create(key, 'live', expiresAt), true);
      await assertEntry(store, key, 'live', expiresAt);
    }));

  test('update(key, expected, value, expiresAt) with an already-passed deadline ends the entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      assert.equal(typeof (await store.update(key, 'v', 'w', Date.now() - 1000)), 'boolean');
      await assertMissing(store, key);
      assert.equal(await need(store, 'count')(), 0);
    }));

  test('touch(key, expiresAt) with an already-passed deadline ends the entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      assert.equal(typeof (await store.touch(key, Date.now() - 1000)), 'boolean');
      await assertMissing(store, key);
      assert.equal(await need(store, 'count')(), 0);
    }));

  test('count() excludes entries whose expiresAt has passed', () =>
    withStore(suite, async (store) => {
      const expiresAt = await createExpiring(store, randomKey(), 'a');
      await store.create(randomKey(), 'b', inMs(HOUR));
      await waitPast(suite, expiresAt);
      assert.equal(await need(store, 'count')(), 1);
    }));
}
