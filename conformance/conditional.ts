import assert from 'node:assert/strict';
import type { SessionStore } from '../src/index.js';
import type { Suite } from './util.js';
import {
  HOUR,
  need,
  assertEntry,
  assertMissing,
  inMs,
  raceTest,
  randomKey,
  withStore,
} from './util.js';

const WORKERS = 20;
// A CAS loop that needs more attempts than this is livelocked, not unlucky.
const MAX_ATTEMPTS = 500;

/** Registers the conditional group: update() is a compare-and-set on the exact text. */
export function conditionalTests(suite: Suite): void {
  const { test } = suite;

  test('update(key, expected) with the current value resolves true and stores the new value and expiresAt', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v1', inMs(HOUR));
      const expiresAt = inMs(2 * HOUR);
      assert.equal(await store.update(key, 'v1', 'v2', expiresAt), true);
      await assertEntry(store, key, 'v2', expiresAt);
    }));

  test('update(key, expected) with a stale value resolves false and leaves the entry unchanged', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      await store.create(key, 'v1', expiresAt);
      await store.update(key, 'v1', 'v2', expiresAt);
      assert.equal(await store.update(key, 'v1', 'v3', expiresAt + HOUR), false);
      assert.equal(await store.update(key, 'v', 'v3', expiresAt + HOUR), false);
      await assertEntry(store, key, 'v2', expiresAt);
    }));

  test('update(key, expected) with the same value and a new expiresAt resolves true', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'same', inMs(HOUR));
      const expiresAt = inMs(2 * HOUR);
      assert.equal(await store.update(key, 'same', 'same', expiresAt), true);
      await assertEntry(store, key, 'same', expiresAt);
    }));

  test('update(key) on a missing key resolves false and creates nothing', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      assert.equal(await store.update(key, 'v1', 'v2', inMs(HOUR)), false);
      await assertMissing(store, key);
      assert.equal(await need(store, 'count')(), 0);
    }));

  test('update(key) after delete(key) resolves false: a destroyed session is never recreated', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v1', inMs(HOUR));
      await store.delete(key);
      assert.equal(await store.update(key, 'v1', 'v2', inMs(HOUR)), false);
      await assertMissing(store, key);
    }));

  raceTest(
    suite,
    `create(key) from ${WORKERS} concurrent callers resolves true for exactly one, whose value is kept`,
    async (store) => {
      const key = randomKey();
      const expiresAt = inMs(HOUR);
      const results = await Promise.all(
        Array.from({ length: WORKERS }, (_, i) => store.create(key, `w${i}`, expiresAt)),
      );
      const winners = results.flatMap((ok, i) => (ok ? [i] : []));
      assert.equal(winners.length, 1);
      await assertEntry(store, key, `w${winners[0]}`, expiresAt);
    },
  );

  raceTest(
    suite,
    `${WORKERS} concurrent read-modify-write loops over update() lose no update`,
    async (store) => {
      const key = randomKey();
      await store.create(key, '{}', inMs(HOUR));
      await Promise.all(Array.from({ length: WORKERS }, (_, i) => addField(store, key, `k${i}`)));
      const entry = await store.get(key);
      assert.ok(entry);
      const fields = Object.keys(JSON.parse(entry.value) as object).sort();
      assert.deepEqual(fields, Array.from({ length: WORKERS }, (_, i) => `k${i}`).sort());
    },
  );

  raceTest(suite, 'delete(key) racing concurrent update() loops is never undone', async (store) => {
    const key = randomKey();
    await store.create(key, '0', inMs(HOUR));
    let deleteNow!: () => void;
    const deleteSignal = new Promise<void>((resolve) => (deleteNow = resolve));
    const loops = Array.from({ length: 5 }, () => incrementUntilGone(store, key, deleteNow));
    const deleter = deleteSignal.then(() => store.delete(key));
    const [deleted] = await Promise.all([deleter, ...loops]);
    assert.equal(deleted, true);
    await assertMissing(store, key);
    assert.equal(await need(store, 'count')(), 0);
  });
}

/** Adds `field` to the JSON object under `key` by compare-and-set, retrying on conflict. */
async function addField(store: SessionStore, key: string, field: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await store.get(key);
    assert.ok(entry, `entry vanished while adding ${field}`);
    const next = { ...(JSON.parse(entry.value) as Record<string, true>), [field]: true };
    if (await store.update(key, entry.value, JSON.stringify(next), entry.expiresAt)) return;
  }
  assert.fail(`update() never succeeded for ${field} in ${MAX_ATTEMPTS} attempts`);
}

/** Increments the counter under `key` until it is gone; asks for the delete after a few writes. */
async function incrementUntilGone(
  store: SessionStore,
  key: string,
  deleteNow: () => void,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await store.get(key);
    if (entry === undefined) return;
    const n = Number(entry.value) + 1;
    if (n === 3) deleteNow();
    await store.update(key, entry.value, String(n), entry.expiresAt);
  }
  assert.fail(`the entry was still there after ${MAX_ATTEMPTS} updates`);
}
