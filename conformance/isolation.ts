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
  randomPrefix,
  waitPast,
  withStore,
  withTwoStores,
} from './util.js';

/** Registers the isolation group: two prefixes on one backend never see or touch each other. */
export function isolationTests(suite: Suite): void {
  const { test } = suite;

  test('get(key) in one prefix does not see a key written under another prefix', () =>
    withTwoStores(suite, async (a, b) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await a.create(key, 'from a', expiresAt);
      await assertMissing(b, key);
      assert.equal(await b.create(key, 'from b', expiresAt + 1), true);
      await assertEntry(a, key, 'from a', expiresAt);
      await assertEntry(b, key, 'from b', expiresAt + 1);
    }));

  test('update, touch and delete in one prefix leave the same key under another prefix alone', () =>
    withTwoStores(suite, async (a, b) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await a.create(key, 'v', expiresAt);
      await b.create(key, 'v', expiresAt);
      assert.equal(await b.update(key, 'v', 'w', expiresAt + 1), true);
      assert.equal(await b.touch(key, expiresAt + 2), true);
      await assertEntry(a, key, 'v', expiresAt);
      assert.equal(await b.delete(key), true);
      await assertEntry(a, key, 'v', expiresAt);
    }));

  test('count() and clear() under a prefix with LIKE and glob wildcards leave a look-alike prefix alone', () => {
    // `%`, `_`, `*`, `?` and `[` are wildcards to SQL LIKE and Redis SCAN MATCH: a store must escape them.
    const base = randomPrefix(suite);
    return withTwoStores(
      suite,
      async (wild, other) => {
        await wild.create(randomKey(), 'w', inMs(HOUR));
        await other.create(randomKey(), 'o', inMs(HOUR));
        assert.equal(await need(wild, 'count')(), 1);
        await need(wild, 'clear')();
        assert.equal(await need(wild, 'count')(), 0);
        assert.equal(await need(other, 'count')(), 1);
      },
      [`${base}%_*?[x]:`, `${base}ab*?x:`],
    );
  });

  test('count() counts only its own prefix', () =>
    withTwoStores(suite, async (a, b) => {
      for (let i = 0; i < 3; i++) await a.create(randomKey(), 'a', inMs(HOUR));
      for (let i = 0; i < 2; i++) await b.create(randomKey(), 'b', inMs(HOUR));
      assert.equal(await need(a, 'count')(), 3);
      assert.equal(await need(b, 'count')(), 2);
    }));

  test('clear() deletes its own prefix only', () =>
    withTwoStores(suite, async (a, b) => {
      const [ka, kb] = [randomKey(), randomKey()];
      const expiresAt = inMs(HOUR);
      await a.create(ka, 'a', expiresAt);
      await a.create('user:' + randomKey(), '{"s":{}}', expiresAt);
      await b.create(kb, 'b', expiresAt);
      await b.create('user:' + randomKey(), '{"s":{}}', expiresAt);
      await need(b, 'clear')();
      await assertMissing(b, kb);
      assert.equal(await need(b, 'count')(), 0);
      await assertEntry(a, ka, 'a', expiresAt);
      assert.equal(await need(a, 'count')(), 1);
    }));

  test('prune() deletes expired entries of its own prefix only', () =>
    withTwoStores(suite, async (a, b) => {
      const deadlines = [
        await createExpiring(a, randomKey(), 'a1'),
        await createExpiring(a, randomKey(), 'a2'),
        await createExpiring(b, randomKey(), 'b1'),
      ];
      const live = randomKey();
      await a.create(live, 'a3', inMs(HOUR));
      await waitPast(suite, Math.max(...deadlines));
      const prunedB = await need(b, 'prune')();
      const prunedA = await need(a, 'prune')();
      // A backend that expires entries itself may already have removed them: it reports fewer.
      if (a.capabilities.nativeExpiry) {
        assert.ok(prunedB <= 1 && prunedA <= 2, `pruned ${prunedB} and ${prunedA}`);
      } else {
        assert.equal(prunedB, 1);
        assert.equal(prunedA, 2);
      }
      assert.equal(await need(a, 'count')(), 1);
      assert.ok(await a.get(live));
    }));

  test('count() does not count index records (keys containing ":")', () =>
    withStore(suite, async (store) => {
      await store.create(randomKey(), 'session', inMs(HOUR));
      await store.create('user:' + randomKey(), '{"s":{}}', inMs(HOUR));
      await store.create('user:abc', '{"s":{}}', inMs(HOUR));
      assert.equal(await need(store, 'count')(), 1);
    }));

  test('an index key "user:x" and a session key "x" are distinct entries', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, 'session', expiresAt);
      assert.equal(await store.create('user:' + key, 'index', expiresAt), true);
      await assertEntry(store, key, 'session', expiresAt);
      await assertEntry(store, 'user:' + key, 'index', expiresAt);
      assert.equal(await store.delete('user:' + key), true);
      await assertEntry(store, key, 'session', expiresAt);
    }));
}
