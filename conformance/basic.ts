import assert from 'node:assert/strict';
import type { Suite } from './util.js';
import { HOUR, assertEntry, assertMissing, inMs, randomKey, withStore } from './util.js';

// Text that breaks naive quoting, escaping or encoding layers (SQL, Lua, JSON-in-JSON, file names).
const AWKWARD = `"quotes" 'single' \`back\` \\ back\\slash \\\\ \n newline \r\n crlf \t tab ünïcödé 日本語 🎉👨‍👩‍👧 ‮rtl‬ $1 %s ?; DROP TABLE x; -- {"v":1}`;

/** Registers the basic group: get/create/delete round trips. */
export function basicTests(suite: Suite): void {
  const { test } = suite;

  test('get(key) resolves undefined for a key never written', () =>
    withStore(suite, async (store) => {
      await assertMissing(store, randomKey());
    }));

  test('create(key, value, expiresAt) resolves true and get(key) returns exactly that value and expiresAt', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      assert.equal(await store.create(key, '{"c":1,"d":{}}', expiresAt), true);
      await assertEntry(store, key, '{"c":1,"d":{}}', expiresAt);
    }));

  test('create(key) on a live key resolves false and leaves value and expiresAt unchanged', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      assert.equal(await store.create(key, 'first', expiresAt), true);
      assert.equal(await store.create(key, 'second', expiresAt + HOUR), false);
      await assertEntry(store, key, 'first', expiresAt);
    }));

  test('delete(key) resolves true for a live key, then false, and get(key) resolves undefined', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      assert.equal(await store.delete(key), true);
      await assertMissing(store, key);
      assert.equal(await store.delete(key), false);
    }));

  test('delete(key) resolves false for a key never written', () =>
    withStore(suite, async (store) => {
      assert.equal(await store.delete(randomKey()), false);
    }));

  test('create(key) after delete(key) resolves true with the new value', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, 'old', expiresAt);
      await store.delete(key);
      assert.equal(await store.create(key, 'new', expiresAt), true);
      await assertEntry(store, key, 'new', expiresAt);
    }));

  test('delete(key) leaves entries under other keys unchanged', () =>
    withStore(suite, async (store) => {
      const [a, b] = [randomKey(), randomKey()];
      const expiresAt = inMs(HOUR);
      await store.create(a, 'A', expiresAt);
      await store.create(b, 'B', expiresAt + 1);
      await store.delete(a);
      await assertMissing(store, a);
      await assertEntry(store, b, 'B', expiresAt + 1);
    }));

  test('get(key) returns a value of 64 KiB and more byte-exactly', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      // Above maxSessionBytes (65536) plus the record envelope, with multi-byte characters mixed in.
      const big = (AWKWARD + 'x'.repeat(997)).repeat(72);
      assert.ok(Buffer.byteLength(big) > 70_000);
      assert.equal(await store.create(key, big, expiresAt), true);
      await assertEntry(store, key, big, expiresAt);
    }));

  test('get(key) returns quotes, backslashes, newlines and unicode byte-exactly', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, AWKWARD, expiresAt);
      await assertEntry(store, key, AWKWARD, expiresAt);
    }));

  test('get(key) returns an expiresAt one year ahead exactly', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(365 * 24 * HOUR);
      await store.create(key, 'v', expiresAt);
      await assertEntry(store, key, 'v', expiresAt);
    }));
}
