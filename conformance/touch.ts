import assert from 'node:assert/strict';
import type { Suite } from './util.js';
import {
  HOUR,
  need,
  TWO_STEP_MS,
  assertEntry,
  assertMissing,
  createExpiring,
  inMs,
  randomKey,
  waitPast,
  withStore,
} from './util.js';

/** Registers the touch group: touch() moves a live entry's deadline and nothing else. */
export function touchTests(suite: Suite): void {
  const { test } = suite;

  test('touch(key, later) resolves true and get(key) shows the new expiresAt with the same value', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const first = inMs(HOUR);
      await store.create(key, '{"c":1,"d":{"a":"x"}}', first);
      assert.equal(await store.touch(key, first + HOUR), true);
      await assertEntry(store, key, '{"c":1,"d":{"a":"x"}}', first + HOUR);
    }));

  test('touch(key, earlier) resolves true and shortens the deadline', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const first = inMs(2 * HOUR);
      await store.create(key, 'v', first);
      assert.equal(await store.touch(key, first - HOUR), true);
      await assertEntry(store, key, 'v', first - HOUR);
    }));

  test('touch(key) on a missing key resolves false and creates nothing', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      assert.equal(await store.touch(key, inMs(HOUR)), false);
      await assertMissing(store, key);
      assert.equal(await need(store, 'count')(), 0);
    }));

  test('touch(key) after delete(key) resolves false and does not resurrect the entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      await store.delete(key);
      assert.equal(await store.touch(key, inMs(HOUR)), false);
      await assertMissing(store, key);
    }));

  test('get(key) returns a touched entry after its original deadline has passed', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const original = await createExpiring(store, key, 'v', TWO_STEP_MS);
      const extended = inMs(HOUR);
      assert.equal(await store.touch(key, extended), true);
      await waitPast(suite, original);
      await assertEntry(store, key, 'v', extended);
    }));

  test('update(key, original) after touch(key) resolves true: touch keeps the exact value text', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      // Spacing and key order a re-encoding backend (jsonb, cjson) would change.
      const text = '{ "d" : {"b":2, "a":1.0}, "c" : 1 }';
      await store.create(key, text, inMs(HOUR));
      await store.touch(key, inMs(2 * HOUR));
      const expiresAt = inMs(3 * HOUR);
      assert.equal(await store.update(key, text, 'next', expiresAt), true);
      await assertEntry(store, key, 'next', expiresAt);
    }));

  test('count() resolves 1 after repeated touch(key) of one entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      await store.touch(key, inMs(2 * HOUR));
      await store.touch(key, inMs(3 * HOUR));
      assert.equal(await need(store, 'count')(), 1);
    }));
}
